"""Frames of replayed episodes: the clean scene beside what the agent received, one picture per step.

* :mod:`~eval.watch.canvas`: panels with titles, side by side, padded for video encoders;
* :mod:`~eval.watch.cartpole`: the CartPole scene drawn with OpenCV on numpy (no pygame);
* :mod:`~eval.watch.observation`: the observation the agent received (noisy bits, noisy delayed frames);
* :mod:`~eval.watch.raster`: the spike raster of SCAL-RL's prototype neurons;
* :mod:`~eval.watch.views`: one view per environment family, composing the panels of a step;
* :mod:`~eval.watch.play`: play episodes of a loaded model and collect returns and frames;
* :mod:`~eval.watch.video`: write frames as MP4, WebM or GIF.
"""
