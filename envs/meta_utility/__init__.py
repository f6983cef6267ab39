"""MetaUtility: compute allocation over the residual blocks of a trained backbone (docs/meta_utility.md).

Modules, one job each: ``data`` (offline digits and the fixed split), ``backbone`` (the model),
``flops`` (FLOPs counted from the layers), ``training`` (reproducible training and the cache),
``outcomes`` (predictions for every subset of blocks), ``env`` (the Gymnasium environment).
"""
