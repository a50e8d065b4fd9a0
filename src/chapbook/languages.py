"""What a language tag says about setting text: its direction."""

from __future__ import annotations

RTL_LANGUAGES = {"ar", "fa", "he", "ur", "ps", "sd", "yi", "dv", "ug", "ku", "syr"}


def direction(language: str) -> str:
    return "rtl" if language.split("-")[0].lower() in RTL_LANGUAGES else "ltr"


# The quotes a language sets, outer pair then inner pair (the CLDR's delimiters; French with
# the narrow no-break space its typographers put inside the guillemets). What the typographer
# makes of straight quotes typed in an essay of that language.
ENGLISH_QUOTES = ("“", "”", "‘", "’")
_QUOTES: dict[str, tuple[str, str, str, str]] = {
    "de": ("„", "“", "‚", "‘"), "de-ch": ("«", "»", "‹", "›"),
    "cs": ("„", "“", "‚", "‘"), "sk": ("„", "“", "‚", "‘"), "sl": ("„", "“", "‚", "‘"),
    "hr": ("„", "“", "‚", "‘"), "bg": ("„", "“", "„", "“"), "et": ("„", "“", "‚", "‘"),
    "lt": ("„", "“", "‚", "‘"), "is": ("„", "“", "‚", "‘"),
    "fr": ("«\u202f", "\u202f»", "“", "”"), "fr-ch": ("«", "»", "‹", "›"),
    "es": ("«", "»", "“", "”"), "it": ("«", "»", "“", "”"), "pt": ("«", "»", "“", "”"),
    "pt-br": ENGLISH_QUOTES, "ca": ("«", "»", "“", "”"), "el": ("«", "»", "“", "”"),
    "ru": ("«", "»", "„", "“"), "uk": ("«", "»", "„", "“"), "be": ("«", "»", "„", "“"),
    "nb": ("«", "»", "‘", "’"), "no": ("«", "»", "‘", "’"), "nn": ("«", "»", "‘", "’"),
    "pl": ("„", "”", "«", "»"), "ro": ("„", "”", "«", "»"), "hu": ("„", "”", "»", "«"),
    "nl": ("‘", "’", "“", "”"), "sv": ("”", "”", "’", "’"), "fi": ("”", "”", "’", "’"),
    "da": ("“", "”", "‘", "’"), "tr": ENGLISH_QUOTES,
    "ja": ("「", "」", "『", "』"), "zh-hant": ("「", "」", "『", "』"),
    "zh-tw": ("「", "」", "『", "』"), "zh-hk": ("「", "」", "『", "』"),
}


def quotes(language: str) -> tuple[str, str, str, str]:
    """The quotes of a BCP 47 tag: its own (`de-CH`), else its language's (`de`), else
    English's (also for a language whose quotes depend on its direction, left to the author)."""
    tag = language.lower()
    while tag:
        if tag in _QUOTES:
            return _QUOTES[tag]
        tag = tag.rpartition("-")[0]
    return ENGLISH_QUOTES
