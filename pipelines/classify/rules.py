"""The classifier's judgement: is a text about face recognition, and which kind of evidence is it.

Face recognition: a term that names it ("facial recognition", "Gesichtserkennung", "人脸识别") or a
system that is it (Clearview, SARI, Smart Sampa) that no negation denies ("no facial recognition",
"Gesichtserkennung wird nicht eingesetzt"); or, in one sentence without a negation, a word for a
face with a word for matching ("the system compares faces", "photo tagging"). A text about
unlocking one's own phone with one's face is not, unless it also reports arrests or legal action.

Kind, for a text about face recognition, sentence by sentence, the title counting twice:
`wrongful_arrest` where one sentence tells of an arrest or detention and of a mistake ("held six
days after a false match", "preso por engano"), or the title of one and the text of the other; else
`legal_action` where the title has a legal word or legal words outweigh deployment words; else
`other` where study and opinion words do; else `deployment` where any
deployment word appears, and `other` where none does.
"""

import re
from dataclasses import dataclass

from pipelines.classify.lexicon import Lexicon

SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|(?<=[。！？；])|\n+")
NEGATION_BEFORE = 40  # characters before a face recognition term in which a negation denies it
NEGATION_AFTER = 25   # ... and after it ("Gesichtserkennung wird nicht eingesetzt")
CJK_CHARACTERS = 5    # a Chinese character says about as much as this many letters
CJK = re.compile(r"[\u3400-\u9fff]")
TITLE_WEIGHT = 2


@dataclass(frozen=True)
class Judgement:
    frt: bool
    kind: str
    confidence: float


def sentences(title: str, text: str) -> list[tuple[str, int]]:
    """(sentence, weight): the title first, with its own weight, then the text's sentences."""
    parts = [(title.strip(), TITLE_WEIGHT)] if title.strip() else []
    return parts + [(part.strip(), 1) for part in SENTENCE_END.split(text or "") if part and part.strip()]


def _denied(sentence: str, match: re.Match, negation: re.Pattern) -> bool:
    scale = CJK_CHARACTERS if CJK.search(match.group()) else 1
    before = sentence[max(0, match.start() - NEGATION_BEFORE // scale):match.start()]
    after = sentence[match.end():match.end() + NEGATION_AFTER // scale]
    return bool(negation.search(before) or negation.search(after))


def _named(sentence: str, concepts: dict, systems: re.Pattern) -> bool:
    """The sentence names face recognition, or a system that is it, without denying it."""
    return any(not _denied(sentence, match, concepts["negation"])
               for pattern in (concepts["face_recognition"], systems) for match in pattern.finditer(sentence))


def _described(sentence: str, concepts: dict) -> bool:
    """The sentence speaks of faces being matched, and no negation stands next to a face."""
    return bool(concepts["matching"].search(sentence) and any(
        not _denied(sentence, match, concepts["negation"]) for match in concepts["face"].finditer(sentence)))


def _weight(parts, test) -> int:
    return sum(weight for sentence, weight in parts if test(sentence))


def _wrongful(parts, concepts: dict) -> int:
    """Weight of the sentences that tell of an arrest and a mistake; or of the title, where it
    tells of one and the document of the other ("Aposentado é confundido ..." and a detention)."""
    arrest, mistaken = concepts["arrest"].search, concepts["mistaken"].search
    both = _weight(parts, lambda sentence: bool(arrest(sentence) and mistaken(sentence)))
    if both or not parts or parts[0][1] != TITLE_WEIGHT:
        return both
    title, rest = parts[0][0], [sentence for sentence, _ in parts[1:]]
    split = (arrest(title) and any(map(mistaken, rest))) or (mistaken(title) and any(map(arrest, rest)))
    return TITLE_WEIGHT if split else 0


def judge(title: str, text: str, lexicon: Lexicon, language: str | None = None) -> Judgement:
    parts = sentences(title, text)
    concepts = lexicon.concepts(language)
    named = _weight(parts, lambda sentence: _named(sentence, concepts, lexicon.systems))
    described = _weight(parts, lambda sentence: _described(sentence, concepts))
    wrongful = _wrongful(parts, concepts)
    legal = _weight(parts, concepts["legal"].search)
    consumer = _weight(parts, concepts["consumer"].search)
    if consumer and not (wrongful or legal):
        named = described = 0
    if not (named or described):
        doubt = any(concepts["face"].search(sentence) for sentence, _ in parts)
        return Judgement(False, "other", 0.6 if doubt else 0.9)
    certainty = 0.95 if named >= TITLE_WEIGHT else 0.85 if named else 0.7
    if wrongful:
        return Judgement(True, "wrongful_arrest", round(certainty * (0.95 if wrongful > 1 else 0.8), 2))
    deployment = _weight(parts, concepts["deployment"].search)
    other = _weight(parts, concepts["other"].search)
    titled = bool(parts) and parts[0][1] == TITLE_WEIGHT and concepts["legal"].search(parts[0][0])
    if titled or legal > deployment:
        return Judgement(True, "legal_action", round(certainty * 0.9, 2))
    if other > deployment or not deployment:
        return Judgement(True, "other", round(certainty * 0.7, 2))
    return Judgement(True, "deployment", round(certainty * 0.85, 2))
