"""What each write leaves (audit trail, hash chain, change log with clocks) and the merge every copy applies."""
