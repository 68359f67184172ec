"""Disputing a debt: evidence, the validation clock, holds, and staff verification."""
