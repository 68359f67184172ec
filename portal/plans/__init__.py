"""Payment plans, settlements and hardship plans: proposed, decided by policy, run on autopay."""
