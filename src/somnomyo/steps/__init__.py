"""The scoring steps of the detector registry (:mod:`somnomyo.registry`), one module per step:
each has ``run(night)`` (from the conditioned recording), ``from_events(events, context, earlier)``
(from an event table, for :mod:`somnomyo.rescore`) and its registry entry ``DETECTOR``."""
