"""What people see never shows a whole card number; support sees emails and phones masked."""

from __future__ import annotations

from queries.redact import mask_cards, mask_personal


def test_card_numbers_keep_only_their_last_four() -> None:
    text = 'pan 4111 1111 1111 1111, other 5500-0000-0000-0004, {"card":"378282246310005"}'
    masked = mask_cards(text)
    assert "4111 1111" not in masked and "5500-0000" not in masked and "37828224" not in masked
    assert masked.count("**** **** **** ") == 3 and masked.endswith('"**** **** **** 0005"}')


def test_numbers_that_are_not_cards_are_left_alone() -> None:
    for text in ("order 1234567890123 (Luhn fails)", "2026-03-01T10:00:00Z", "SO-48213"):
        assert mask_cards(text) == text


def test_personal_data_is_masked_for_support() -> None:
    masked = mask_personal("Dana.Smith@example.com called from +44 20 7946 0958")
    assert masked == "D***@example.com called from ***58"


def test_a_digit_run_inside_an_identifier_is_no_card_number() -> None:
    # A dead letter's hex id once came out of `dlq list` as 'a21ee**** **** **** 1626a1e8'.
    ident = "a21ee4111111111111111a1e8"
    assert mask_personal(ident) == ident and mask_cards(f"id {ident}") == f"id {ident}"
    assert mask_cards("card: 4111111111111111.") == "card: **** **** **** 1111."
