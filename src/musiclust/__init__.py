"""musiclust: cluster music in several languages with (variational) autoencoders over audio and lyrics.

Data flows one way: ``datasets -> features -> representations/models -> clustering -> metrics -> results``.
"""

__version__ = "0.1.0"
