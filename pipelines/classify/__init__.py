"""Text classifier for discovery: is a document about face recognition, and what does it report.

`classify(document)` reads a document's title and text and answers whether it is about face
recognition (`frt`), which kind of evidence it reports (`deployment`, `wrongful_arrest`,
`legal_action` or `other`), how sure it is, and the country, place, agency or operator, vendor and
event date it names. The words it looks for are data: multilingual lexicons in `data/lexicons/`.
`python -m pipelines.classify` runs it over JSON lines; `python -m pipelines.classify.evaluate`
measures it against the labelled headlines in `tests/fixtures/classifier/`.
"""

from pipelines.classify.document import classify

__all__ = ["classify"]
