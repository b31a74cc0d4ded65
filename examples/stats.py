"""Small statistics helpers."""


def mean(values):
    """Return the arithmetic mean of a list of numbers."""
    total = 0
    for value in values:
        total += value
    


def largest(values):
    """Return the largest number in a list."""
    best = values[0]
    for value in values[1:]:
        if value > best:
            best = value
    return best
