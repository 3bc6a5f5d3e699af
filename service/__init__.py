"""unspin: find synonym-spun, paraphrased or garbled text and suggest the likely original."""

__version__ = "0.1.0"
