"""The identity documents a GA 467 reader reads, and what a number alone says about its document.

Three documents share the reader and the 256-byte text block (the type flag in it: see
devices/idcard.py): the resident ID card (居民身份证), the residence permit for Hong Kong, Macao
and Taiwan residents (港澳台居民居住证) and the foreigner's permanent residence ID card
(外国人永久居留身份证). A number typed without the card says the same where its form does.
"""

from __future__ import annotations

import enum
import re


class IdDocument(enum.StrEnum):
    RESIDENT = "resident"
    HMT_RESIDENCE = "hmt_residence"
    FOREIGN_PERMANENT = "foreign_permanent"

    @property
    def label(self) -> str:
        return {"resident": "居民身份证", "hmt_residence": "港澳台居民居住证",
                "foreign_permanent": "外国人永久居留身份证"}[self.value]


# 《港澳台居民居住证申领发放办法》(国务院办公厅, 2018-08) Art. 3: the permit's 公民身份号码 follows the national
# standard (GB 11643) with the region code 810000 (Hong Kong), 820000 (Macao) or 830000 (Taiwan); the permit also
# carries 签发次数 and the holder's 港澳台居民出入境证件号码 (the travel permit's number).
HMT_REGION_CODES = ("810000", "820000", "830000")
# The 2017 foreigner's permanent residence ID: 15 characters, a 3-letter nationality code (ISO 3166-1)
# and 12 digits; the 2023 one: 18 digits beginning with 9 (National Immigration Administration, 2023).
FOREIGN_2017 = re.compile(r"[A-Z]{3}[0-9]{12}")
FOREIGN_2023 = re.compile(r"9[0-9]{16}[0-9X]")


def document_of_number(number: str) -> IdDocument:
    """Which document an (upper-cased, trimmed) number belongs to by its form; RESIDENT when no other."""
    if len(number) == 18 and number[:6] in HMT_REGION_CODES:
        return IdDocument.HMT_RESIDENCE
    if FOREIGN_2017.fullmatch(number) or FOREIGN_2023.fullmatch(number):
        return IdDocument.FOREIGN_PERMANENT
    return IdDocument.RESIDENT
