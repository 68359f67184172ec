"""Payment plans, settlements and hardship plans: proposed, decided by creditor policy, run on autopay."""
