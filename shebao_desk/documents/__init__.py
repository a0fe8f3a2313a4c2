"""The papers, rendered with reportlab: business form, one-time notice, receipt, one-page sheets.

A data model with no reportlab import (:mod:`model`), a layout loaded from
``resources/documents/layout.toml`` (:mod:`shebao_desk.config.document_layout`), and a renderer
built from platypus flowables (:mod:`render`). No Qt and no store here: the papers of a stored
case are gathered by :mod:`shebao_desk.services.case_documents`.
"""
