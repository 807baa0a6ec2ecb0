"""A generated corpus with known truth: template reports rendered into the many layouts sites use.

``generate(n, seed)`` mixes layouts deterministically; ``hard_cases(seed)`` adds damaged pages
whose expected issues are known; ``write_corpus`` writes documents plus ``truth.jsonl``.
"""

from .hard import HARD_CASES, hard_cases
from .layouts import LAYOUTS, OTHER_LAYOUTS, REPORT_LAYOUTS, GeneratedDoc, generate, other_truth, render, write_corpus
from .tables import BLANK_MARKERS, Style
from .truth import RULES, check_rules, inject_inconsistency, random_truth

__all__ = [
    "BLANK_MARKERS", "HARD_CASES", "LAYOUTS", "OTHER_LAYOUTS", "REPORT_LAYOUTS", "RULES", "GeneratedDoc", "Style",
    "check_rules", "generate", "hard_cases", "inject_inconsistency", "other_truth", "random_truth", "render",
    "write_corpus",
]
