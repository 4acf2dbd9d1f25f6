"""Rows of digits: pieces of ink -> cuts -> the parts that are digits, with the whole-row reader's
count where it is sure. ``segment.find_digits`` is the way in."""
