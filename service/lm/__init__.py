"""Language-model backends behind one interface (see :mod:`service.lm.base`)."""

from service.lm.base import LanguageModel, Slot

__all__ = ["LanguageModel", "Slot"]
