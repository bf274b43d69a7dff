"""The interface's words in Chinese and English (text.py), for pages, exports and legends alike."""
