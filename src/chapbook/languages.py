"""What a language tag says about setting text: its direction."""

from __future__ import annotations

RTL_LANGUAGES = {"ar", "fa", "he", "ur", "ps", "sd", "yi", "dv", "ug", "ku", "syr"}


def direction(language: str) -> str:
    return "rtl" if language.split("-")[0].lower() in RTL_LANGUAGES else "ltr"
