"""Where things are in NoisyPong's 84x84 frame (rows and columns of the binarised picture).

Measured on clean frames: the field lies between the walls (rows 9-13 and 77-83), the score digits
sit above it; the agent's paddle occupies columns 73-75 and is 8 rows tall at rest, the opponent's
columns 8-10; the ball is a blob of about 2 columns by 2-3 rows (the max-pooling of two emulator frames
smears it).
"""

from __future__ import annotations

FIELD_TOP, FIELD_BOTTOM = 14, 76  # first and last row between the walls
FIELD_ROWS = FIELD_BOTTOM - FIELD_TOP + 1
FIELD_CENTRE = (FIELD_TOP + FIELD_BOTTOM) / 2
WIDTH = 84
PADDLE_COLUMNS = (73, 76)  # the agent's paddle: columns 73..75
OPPONENT_COLUMNS = (8, 11)  # the opponent's paddle: columns 8..10
PADDLE_HEIGHT = 8
BALL_SHAPE = (2, 2)  # rows, columns of the template: the part of the blob that is on wherever the ball is
# rows the ball's centre can occupy: the centre of its 2x2 template (a row and column past its top-left
# pixel) with at least one template row inside the field (a ball grazing a wall shows one row there); the
# ball bounces off these rows
BALL_TOP = float(FIELD_TOP)
BALL_BOTTOM = FIELD_BOTTOM + 1.0
# The controller aims the paddle centre HIT_OFFSET rows above the ball's row at column HIT_COLUMN; both
# were tuned on whole games of the clean reference (74.5 and 0: +19 and +16 in two games; 74.0 with
# offsets 0 to 1: +13 to +17).
HIT_COLUMN = 74.5
HIT_OFFSET = 0.0
