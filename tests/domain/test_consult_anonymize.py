"""What an FAQ entry must not say about its asker (issue 15: 「相談者の特定につながる情報を除く」),
in the forms an audit found getting through to a published entry: the name typed with a space,
the family name with an honorific, the local government without 市, a full-width phone number."""

from __future__ import annotations

from digiden.domain.consult import anonymize, identity_left

ASKER = ["山田太郎", "yamada@example.lg.jp", "0242-39-1234", "福島県会津若松市", "会津若松市", "aizu-yamada",
         "デモ 会津若松市 担当者"]


def test_the_ways_an_asker_slipped_through_are_removed_and_caught() -> None:
    text = ("FAQテスト 会津若松 の件。会津若松市の山田 太郎です。山田様、回答します。"
            "電話は ０２４２－３９－１２３４ または +81-242-39-1234 です。")
    for left in ("山田 太郎", "山田様", "会津若松", "０２４２", "+81"):
        assert left in text
    assert identity_left(text, ASKER) == ["電話番号", "「0242-39-1234」", "「山田（敬称付き）」", "「会津若松市」",
                                          "「山田太郎」", "「会津若松」"]
    out = anonymize(text, ASKER)
    for gone in ("山田", "太郎", "会津若松", "０２４２", "242-39"):
        assert gone not in out, out
    assert identity_left(out, ASKER) == []
    assert "［相談者］様" not in out and "回答します" in out


def test_a_name_given_with_a_space_is_matched_part_by_part() -> None:
    assert anonymize("太郎さんから、山田さんへ", ["山田 太郎"]) == "［相談者］さんから、［相談者］さんへ"


def test_ordinary_words_of_an_organisations_or_accounts_name_are_kept() -> None:
    """Only a person's name is matched by its parts: 担当者 from a display name, 福島 from
    福島県会津若松市, or an account's first letters stay in the text."""
    out = anonymize("担当者が福島の事例とdemoの画面を案内しました。", ASKER)
    assert out == "担当者が福島の事例とdemoの画面を案内しました。"
