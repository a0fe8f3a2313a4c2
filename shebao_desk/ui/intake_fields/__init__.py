"""The intake form's field groups: each a small widget owning its fields, their checks and its part of the draft.

``ui/intake_form.IntakeForm`` composes them (business and mode on top) and builds the request.
Every field keeps an object name, so tests and drafts address it the same as ever.
"""
