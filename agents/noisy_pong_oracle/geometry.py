"""Where things are in NoisyPong's 84x84 frame (rows and columns of the binarised picture).

Measured on clean frames: the field lies between the walls (rows 9-13 and 77-83), the score digits
sit above it; the agent's paddle occupies columns 73-75 and is 8 rows tall at rest; the ball is a
blob about 2 columns by 2-3 rows (the max-pooling of two emulator frames smears it); it moves about
2.1 columns per step and up to about 3.5 rows per step.
"""

from __future__ import annotations

FIELD_TOP, FIELD_BOTTOM = 14, 76  # first and last row between the walls
FIELD_ROWS = FIELD_BOTTOM - FIELD_TOP + 1
WIDTH = 84
PADDLE_COLUMNS = (73, 76)  # the agent's paddle: columns 73..75
OPPONENT_COLUMNS = (8, 11)  # the opponent's paddle: columns 8..10
PADDLE_HEIGHT = 8
BALL_SHAPE = (2, 2)  # rows, columns of the template: the part of the blob that is on wherever the ball is
BALL_SPEED_X = 2.1  # columns per step
BALL_MAX_SPEED_Y = 3.6  # rows per step
HIT_OFFSET = 1.0  # aim the paddle centre this many rows above the ball (measured: returns most balls)
HIT_COLUMN = 73.0  # ball centre column when it meets the agent's paddle
OPPONENT_HIT_COLUMN = 11.5
SERVE_COLUMNS = (38.0, 46.0)  # where a served ball appears
FIELD_CENTRE = (FIELD_TOP + FIELD_BOTTOM) / 2
# ball-centre rows a ball can occupy (its template lies inside the field)
BALL_TOP = FIELD_TOP + (BALL_SHAPE[0] - 1) / 2
BALL_BOTTOM = FIELD_BOTTOM - (BALL_SHAPE[0] - 1) / 2
