"""Fixes: the codemods that rewrite a finding's code, the imports they need, and the fix loop that applies them."""
