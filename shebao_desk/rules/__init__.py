"""Pure domain rules: ID numbers and their masking, card states and rules, PIN policy, the calendars."""
