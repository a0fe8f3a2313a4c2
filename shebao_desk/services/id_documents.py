"""Which identity document a business accepts: the resident ID card only, where businesses.toml says so.

申领 asks for “本人二代有效身份证原件” (Art. 13), so a residence permit of a Hong Kong, Macao or
Taiwan resident or a foreigner's permanent residence ID card is refused with one line naming the
document and what to do (businesses.toml [id_cards]). The intake form calls ``idcard_refusal``
when the ID card reader (F6) reads a card; ``accept_case`` calls ``number_refusal`` on the number
itself, so a typed number is held to the same rule.
"""

from __future__ import annotations

from shebao_desk.config.catalogue import Catalogue
from shebao_desk.rules.id_documents import IdDocument, document_of_number
from shebao_desk.rules.idnumber import normalise


def refusal(catalogue: Catalogue, business: str, document: IdDocument) -> str | None:
    """The clerk's line when ``business`` may not be taken on ``document``; None when it may."""
    b = catalogue[business]
    if not b.resident_id_only or document is IdDocument.RESIDENT:
        return None
    return catalogue.id_cards.refusal(document.label, b.name)


def idcard_refusal(catalogue: Catalogue, business: str, document: IdDocument) -> str | None:
    """For the card the ID card reader has just read (its 证件类型标识 says which document it is)."""
    return refusal(catalogue, business, document)


def number_refusal(catalogue: Catalogue, business: str, id_number: str) -> str | None:
    """For a number typed or filled in: a residence permit's (810000/820000/830000) or a foreigner's."""
    return refusal(catalogue, business, document_of_number(normalise(id_number)))
