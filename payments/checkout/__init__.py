"""The citizen checkout page: what to pay and why, a VietQR to pay it, and the result."""
