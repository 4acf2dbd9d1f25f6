"""A row of handwritten digits -> each digit's ink, box and model input, left to right.

1. the upload as an ink map at a working resolution that suits a row (wide images keep more
   pixels across), re-read from the upload's own pixels when the row is small in a big photo,
   and turned level when it was photographed at an angle (``skew``);
2. its pieces of ink (``pieces``);
3. pieces that may hold several digits cut where the evidence says so (``cuts``, ``choose``):
   unless a piece looks like one digit, candidate parts are all read in one batch and the
   parts most likely each to be one digit kept; where the whole-row reader surely reads how
   many digits a piece holds, that many parts are kept, and pieces it surely reads no digit
   in join their neighbour (``fusion``); the signs it reads (a minus, a decimal point or
   comma) are taken out of the ink first (``signs``);
4. each digit's and sign's box in the uploaded image's pixels, sorted left to right.

In: a decoded upload (Pillow image), a ``ModelRunner`` (the digit network), optionally the
probe and the row reader. Out: ``FoundRow``: ``FoundDigit``s and ``FoundSign``s.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass

import numpy as np
from PIL import Image

from recognizer.errors import NoDigitFound
from recognizer.vision.digit import normalize_digit
from recognizer.vision.geometry import UPLOAD_SIZE_KEY, Box, Frame
from recognizer.vision.ink import InkMap, ink_map
from recognizer.vision.polarity import ink_is_dark
from recognizer.vision.rows.choose import (
    ModelRunner,
    OneDigitScorer,
    choose_exactly,
    choose_parts,
    clearly_one_digit,
    cut_options,
    read_whole,
)
from recognizer.vision.rows.cuts import parts_at, stroke_px
from recognizer.vision.rows.fusion import PieceReading, digits_per_piece, fold_unread, read_alike, read_whole_row
from recognizer.vision.rows.pieces import Group, crop_ink, may_hold_several, row_groups, row_height, typical_width
from recognizer.vision.rows.signs import Sign, take_signs
from recognizer.vision.rows.skew import Turn, levelling
from recognizer.vision.rows.strip import Emission, RowReader
from recognizer.vision.rows.tuning import CUTS, FUSION, WORKING
from recognizer.vision.tuning import RESOLUTION


@dataclass(frozen=True)
class FoundDigit:
    """One digit of a row: its ink crop, the model's input made from it, its upload box."""

    ink: np.ndarray  # float32 crop of the working map, only this digit's ink
    model_input: np.ndarray  # float32 [28, 28]
    box: Box  # in the uploaded image's pixels
    read_as: np.ndarray | None = None  # float64 [10]: the whole-row reader's reading of it, if any
    clump: int | None = None  # which clump of touching digits it was cut from (None: a piece alone)
    unread: bool = False  # the whole-row reader, sure of the row's digits, reads none in it: a mark


@dataclass(frozen=True)
class FoundSign:
    """A sign of the row's number (a minus, a decimal point or comma) and its upload box."""

    symbol: str
    box: Box  # in the uploaded image's pixels


@dataclass(frozen=True)
class FoundRow:
    """A row's digits and signs, each left to right."""

    digits: list[FoundDigit]
    signs: list[FoundSign]


@dataclass(frozen=True)
class RowModels:
    """The networks the segmenter consults, each optional: ``run``, the digit network (needed
    to cut touching digits apart; without it they stay whole); ``probe``, the digit probe
    (without it, parts are scored by their shape); ``reader``, the whole-row reader (says how
    many digits each piece holds; the cuts are still the segmenter's). ``not_digit_below``: the
    digit network's P(digit) under which the service refuses a digit of a row; a piece the
    reader reads no digit in surely and the network refuses whole is left whole."""

    run: ModelRunner | None = None
    probe: OneDigitScorer | None = None
    reader: RowReader | None = None
    not_digit_below: float = 0.0


def marked_cut(parts: list[Group], piece: int) -> list[Group]:
    """The parts of one piece, each marked with the piece's number when there are several."""
    return [dataclasses.replace(part, clump=piece) for part in parts] if len(parts) > 1 else parts


@dataclass(frozen=True)
class RowPieces:
    """A row's digits (groups of ink, left to right) and signs in an ink map, and that map
    with the signs' ink cleared."""

    ink: np.ndarray
    groups: list[Group]
    signs: list[Sign]


def at_reading(group: Group, read: list[Emission], height: float) -> list[Group] | None:
    """The piece cut midway between the digits the whole-row reader read in it (each cut within
    a quarter of the way to either digit, so it never runs round one of them)."""
    pairs = list(itertools.pairwise(read))
    band = int(min(CUTS.seam_band * height, min(b.x - a.x for a, b in pairs) / 4))
    return parts_at(group, [(a.x + b.x) / 2 - group.box.x for a, b in pairs], max(1, band), height)


def segment_ink(ink: np.ndarray, models: RowModels = RowModels()) -> RowPieces:
    """The digits and signs of a row in an ink map, left to right (see ``RowModels`` for what
    each network adds; signs need the row reader)."""
    groups = row_groups(ink)
    run, probe, reader = models.run, models.probe, models.reader
    if not groups or run is None:
        return RowPieces(ink, groups, [])
    height = row_height(groups)
    signs: list[Sign] = []
    if reader is None:
        read = [PieceReading([], False) for _ in groups]
    else:
        whole = read_whole_row(ink, groups, height, reader)
        ink, signs = take_signs(ink, whole, height)
        if signs:
            groups = row_groups(ink)
            if not groups:
                return RowPieces(ink, groups, [])
            height = row_height(groups)
        groups, read = fold_unread(groups, digits_per_piece(whole, groups), height)
    digit_width = typical_width(groups, height)
    settled: list[Group] = []
    undecided: list[tuple[Group, list[Emission], int]] = []
    narrow_read_as_several: list[tuple[Group, list[Emission], int]] = []
    for piece, (group, reading) in enumerate(zip(groups, read, strict=True)):
        in_piece = reading.digits
        least = min((e.probability for e in in_piece), default=0.0)
        sure = least >= FUSION.sure or (least >= FUSION.count_sure and group.box.h <= FUSION.as_tall * height)
        if reading.no_digit:
            # Sure of the row's digits, the reader reads none in this piece (a letter, a "#"):
            # a mark, judged whole and left out whatever the digit network makes of it alone.
            settled.append(dataclasses.replace(group, unread=True))
        elif sure and len(in_piece) == 1:
            settled += read_alike([group], in_piece)
        elif sure and may_hold_several(group, height):
            # Told how many digits the piece holds, any part may be as wide as leaves room for
            # the others: wide digits in a tight row are wider than CUTS.max_part of its height.
            widest = max(CUTS.max_part * height, group.box.w - (len(in_piece) - 1) * CUTS.min_part * height)
            options = cut_options(group, ink, height, digit_width, run, probe, stroke_px(group.mask), widest)
            parts = choose_exactly(options, len(in_piece)) or at_reading(group, in_piece, height)
            settled += read_alike(marked_cut(parts or choose_parts(options), piece), in_piece)
        elif sure:
            narrow_read_as_several.append((group, in_piece, piece))
        elif not may_hold_several(group, height):
            settled += read_alike([group], in_piece)
        else:
            undecided.append((group, in_piece, piece))
    strokes = [stroke_px(g.mask) for g, _, _ in undecided + narrow_read_as_several]
    pieces = [g for g, _, _ in undecided + narrow_read_as_several]
    judged = read_whole(pieces, strokes, ink, run) if pieces else None
    sure_one = clearly_one_digit(pieces, judged, height, digit_width, probe) if pieces else []
    refused = [False] * len(pieces) if judged is None else (judged.digit[:, 0] < models.not_digit_below).tolist()
    for (group, in_piece, piece), stroke, one, no_digit in zip(undecided, strokes, sure_one, refused, strict=False):
        # A clump is judged whole before it is cut: one the digit network refuses whole and the
        # reader reads no digit in surely is a mark (a "#", a letter), not digits to cut apart.
        unread = reader is not None and all(e.probability < FUSION.sure for e in in_piece)
        if one or (unread and no_digit):
            parts = [group]
        else:
            parts = choose_parts(cut_options(group, ink, height, digit_width, run, probe, stroke))
        settled += read_alike(marked_cut(parts, piece), in_piece)
    # A piece too narrow to cut by its shape that the reader surely reads as several digits
    # ("11" written close) is cut where it read them, unless it looks like one digit whole.
    for (group, in_piece, piece), one in zip(narrow_read_as_several, sure_one[len(undecided) :], strict=True):
        parts = None if one else at_reading(group, in_piece, height)
        settled += read_alike(marked_cut(parts or [group], piece), in_piece)
    return RowPieces(ink, sorted(settled, key=lambda g: g.centre_x), signs)


def working_side(size: tuple[int, int]) -> int:
    """Longest working side for a row image: wide rows keep WORKING.short_side pixels across."""
    longest, shortest = max(size), max(1, min(size))
    return int(min(WORKING.max_side, max(RESOLUTION.work_side, WORKING.short_side * longest / shortest)))


def at_working_size(image: Image.Image, side: int) -> Image.Image:
    """The image in grey with its longest side ``side`` (ink_map's own scaling only shrinks,
    and a tight row of small digits needs enlarging), knowing its upload's size."""
    grey = image if image.mode == "L" else image.convert("L")
    factor = side / max(image.size)
    if abs(factor - 1.0) > 1e-3:
        size = (max(1, round(image.size[0] * factor)), max(1, round(image.size[1] * factor)))
        if factor > 1:
            grey = grey.resize(size, Image.Resampling.BICUBIC)
        else:
            grey = grey.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    elif grey is image:
        grey = image.copy()
    grey.info[UPLOAD_SIZE_KEY] = image.info.get(UPLOAD_SIZE_KEY, image.size)
    return grey


def row_ink_map(image: Image.Image, side: int, dark_ink: bool | None = None) -> InkMap:
    """``ink_map`` of a row image at working size ``side``, mirrored above and below first.

    The ink map removes printed lines (long thin strokes across most of the image); in an
    image cropped tight around a row, a "1" or a "4"'s stem spans most of its height too.
    Mirrored margins make the image taller, so only real ruled lines (which the mirror
    continues) still span it. The mirrored margins are cut off the map again.
    """
    grey = at_working_size(image, side)
    if dark_ink is None:  # from the image itself: mirrored shadows must not tip the balance
        dark_ink = ink_is_dark(np.asarray(grey, dtype=np.float32) / 255.0)
    pad = min(grey.size[1] - 1, int(np.ceil(WORKING.line_pad * grey.size[1])))
    taller = Image.fromarray(np.pad(np.asarray(grey), ((pad, pad), (0, 0)), mode="reflect"), mode="L")
    taller.info[UPLOAD_SIZE_KEY] = grey.info[UPLOAD_SIZE_KEY]
    mapped = ink_map(taller, max_side=max(taller.size), dark_ink=dark_ink, faint_strokes=False)
    return dataclasses.replace(mapped, ink=mapped.ink[pad : pad + grey.size[1]])


@dataclass(frozen=True)
class Segmented:
    """A row's digits and signs as found in its ink map, turned level first when it was at an angle."""

    ink: np.ndarray  # the map the groups were found in (levelled when ``turn`` is not None), signs cleared
    groups: list[Group]
    signs: list[Sign]
    turn: Turn | None  # how the original map was turned (None: not turned)
    shape: tuple[int, int]  # the original map's shape

    def box_of(self, box: Box) -> Box:
        """A box of the (levelled) map in the original map."""
        return box if self.turn is None else self.turn.box_back(box, self.shape)


def segment_level(ink: np.ndarray, models: RowModels = RowModels()) -> Segmented:
    """``segment_ink`` of the row turned level first, when it is at an angle."""
    turn = levelling(ink)
    level = ink if turn is None else turn.apply(ink)
    found = segment_ink(level, models)
    return Segmented(found.ink, found.groups, found.signs, turn, ink.shape)


def _second_look(
    image: Image.Image, frame: Frame, region: Box, height: float, dark_ink: bool, models: RowModels
) -> tuple[Frame, Segmented] | None:
    """Re-read a row that is small in the working map from the image's own pixels."""
    upload_size = image.info.get(UPLOAD_SIZE_KEY, image.size)
    per_upload = image.size[0] / upload_size[0]  # image pixels per upload pixel
    margin = 0.5 * height
    x, y, w, h = region
    to_image = per_upload / frame.scale  # image pixels per working pixel
    left = max(0, int((x - margin) * to_image))
    top = max(0, int((y - margin) * to_image))
    right = min(image.size[0], int(np.ceil((x + w + margin) * to_image)))
    bottom = min(image.size[1], int(np.ceil((y + h + margin) * to_image)))
    crop = image.crop((left, top, right, bottom))
    crop.info.pop(UPLOAD_SIZE_KEY, None)
    zoom = min(1.0, WORKING.refine_height / max(1.0, height * to_image))  # working pixels per crop pixel
    side = int(min(2 * WORKING.max_side, max(RESOLUTION.work_side, max(crop.size) * zoom)))
    closer = row_ink_map(crop, side, dark_ink=dark_ink)
    if closer.is_blank:
        return None
    found = segment_level(closer.ink, models)
    if not found.groups:
        return None
    crop_frame = Frame(scale=closer.scale * per_upload, left=left / per_upload, top=top / per_upload)
    return crop_frame, found


def find_digits(image: Image.Image, models: RowModels = RowModels()) -> list[FoundDigit]:
    """The digits of a row in a decoded upload, left to right, boxes in upload pixels
    (``find_row`` without the signs)."""
    return find_row(image, models).digits


def find_row(image: Image.Image, models: RowModels = RowModels()) -> FoundRow:
    """The digits and signs of a row in a decoded upload, left to right, boxes in upload pixels
    (see ``RowModels`` for what each network adds).

    Raises NoDigitFound when there is no ink worth calling a digit.
    """
    first = row_ink_map(image, working_side(image.size))
    if first.is_blank:
        raise NoDigitFound("no digit found: the image looks blank")
    frame = Frame(first.scale)
    segmented = segment_level(first.ink, models)
    if not segmented.groups:
        raise NoDigitFound("no digit found: only specks of ink")
    height = row_height(segmented.groups)
    if height < WORKING.refine_below and image.size[0] / first.ink.shape[1] > 1.5:
        # The signs too: a minus before the first digit lies outside the digits' region.
        pieces = [group.box for group in segmented.groups] + [sign.box for sign in segmented.signs]
        boxes = [segmented.box_of(box) for box in pieces]
        region = boxes[0]
        for box in boxes[1:]:
            region = region.union(box)
        closer = _second_look(image, frame, region, height, first.dark_ink, models)
        if closer is not None:
            frame, segmented = closer
    upload_size = image.info.get(UPLOAD_SIZE_KEY, image.size)
    found = []
    for group in segmented.groups:
        crop = crop_ink(segmented.ink, group)
        box = frame.to_upload(segmented.box_of(group.box), upload_size)
        found.append(FoundDigit(crop, normalize_digit(crop), box, group.read_as, group.clump, group.unread))
    signs = [FoundSign(s.symbol, frame.to_upload(segmented.box_of(s.box), upload_size)) for s in segmented.signs]
    return FoundRow(found, signs)
