"""The consultation desk (ワンストップ相談) and hands-on support plans (伴走型支援): issue 15."""
