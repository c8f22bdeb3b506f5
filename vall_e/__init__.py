"""vall_e: neural-codec language-model text-to-speech.

Importing the package has no side effects: no argv parsing, no device choice, no env mutation.
"""
__version__ = "0.1.0"
