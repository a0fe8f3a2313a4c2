"""Pure domain rules: ID numbers, card states, PIN policy, holiday notices, the provisional calendar."""
