"""The first letters the law asks for after a placement: the US validation notice (Regulation F
1006.34), the UK's and China's own."""
