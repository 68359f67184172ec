"""Staff administration: invitations, MFA resets, roles, deactivation and the audit log."""
