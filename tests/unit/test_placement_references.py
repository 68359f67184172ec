"""The random part of a new borrower's or account's reference: eight characters of the
alphabet, each drawn uniformly (no 0/O/1/I/L)."""

from collections import Counter

from portal.placements.service import _ALPHABET, _random_code


def test_codes_are_eight_characters_of_the_alphabet():
    for _draw in range(1000):
        code = _random_code()
        assert len(code) == 8
        assert set(code) <= set(_ALPHABET)


def test_every_character_comes_in_every_position():
    """3,100 draws: about 100 of each character in each position; none missing, none far off
    (a draw that favoured some characters or left one out would show here)."""
    by_position = [Counter() for _position in range(8)]
    for _draw in range(3100):
        for position, character in enumerate(_random_code()):
            by_position[position][character] += 1
    for counts in by_position:
        assert set(counts) == set(_ALPHABET)
        assert all(40 <= n <= 180 for n in counts.values())
