"""One router per audience: portal, clerks, partners, support; plus health."""
