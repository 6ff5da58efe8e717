"""Synthetic conversation history in the import format of shared/API.md (JSON lines).

Used by the benchmarks to load large, realistic data through `import_history`:
    python bench/history.py 1000000 --days 120 > /tmp/history.jsonl
About six messages per conversation, 5 teams of 10 agents, three channels, pending spells,
reopens, private notes, bots and ratings, spread over the last `days` days.
"""

import argparse
import json
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

TEAMS = ["support", "billing", "sales", "technical", "onboarding"]
AGENTS = [f"agent{n:02d}@example.com" for n in range(50)]
CHANNELS = ["web", "web", "web", "email", "api"]
# Message bodies: a sentence opens with a phrase of one language's topics and goes on with words
# drawn with Zipf-like weights (a few very common, a long tail of rare ones), plus now and then
# an order number or an error code, so searches for common words, rare words and exact codes
# all behave as on real history (Turkish with its suffixes: fatura, faturam, faturalar, …).
ENGLISH = (
    "I have a problem with my invoice|Where is my order|I want a refund for the last payment|"
    "I cannot log in to my account|The delivery is late again|Please upgrade my plan|"
    "My card was charged twice|How do I reset my password|The app crashes when I open settings|"
    "Can you change the shipping address|Thanks for the quick help"
).split("|")
TURKISH = (
    "Faturamda bir sorun var|Siparişim nerede|Son ödemem için iade istiyorum|"
    "Hesabıma giriş yapamıyorum|Kargo yine gecikti|Planımı yükseltmek istiyorum|"
    "Kartımdan iki kez çekim yapıldı|Şifremi nasıl sıfırlarım|Uygulama ayarlarda kapanıyor|"
    "Teslimat adresini değiştirebilir misiniz|Hızlı yardım için teşekkürler"
).split("|")
WORDS = (
    "order invoice invoices refund password login delivery card payment account plan upgrade "
    "subscription receipt shipping address tracking package discount coupon warranty "
    "checkout cart email phone mobile app website browser error update settings language "
    "sipariş siparişim fatura faturam faturalar iade şifre teslimat kargo ödeme hesap yardım "
    "teşekkürler abonelik makbuz adres takip paket indirim kupon garanti sepet uygulama "
    "hata güncelleme ayarlar dil telefon"
).split()
RARE = (
    "chargeback gdpr invoice-pdf two-factor vat e-arşiv e-fatura taksit havale kvkk "
    "blacklisted sandbox webhook firmware bluetooth iyzico paypal klarna"
).split()
WEIGHTS = [1 / (rank + 1) for rank in range(len(WORDS))]  # Zipf: the first words are common
FIRST_NAMES = (
    "Ayşe Mehmet Zeynep Mustafa Elif Emre Fatma Can Selin Burak Alice Bob Carol David Emma "
    "Frank Grace Henry Olivia Liam"
).split()
LAST_NAMES = (
    "Yılmaz Kaya Demir Şahin Çelik Yıldız Öztürk Aydın Arslan Doğan Smith Jones Brown "
    "Taylor Wilson Clark Walker Hall Young King"
).split()


def sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, WEIGHTS, k=rng.randint(2, 10))
    if rng.random() < 0.02:
        words.append(rng.choice(RARE))
    if rng.random() < 0.05:
        words.append(f"#{rng.randrange(10**5, 10**6)}")  # an order number
    if rng.random() < 0.01:
        words.append(f"E{rng.randrange(1000, 10000)}")  # an error code
    opening = rng.choice(TURKISH if rng.random() < 0.5 else ENGLISH)
    return f"{opening}: {' '.join(words)}."


def conversation(n: int, rng: random.Random, start: datetime, days: int) -> dict:
    team = rng.randrange(len(TEAMS))
    agent = AGENTS[team * 10 + rng.randrange(10)]
    t = start + timedelta(seconds=rng.uniform(0, days * 86400))
    messages, events, ratings = [], [], []

    def later(low: float, high: float) -> str:
        nonlocal t
        t += timedelta(seconds=rng.uniform(low, high))
        return t.isoformat()

    def say(kind: str, **extra) -> None:
        messages.append(
            {"author_kind": kind, "body": sentence(rng), "sent_at": later(5, 900), **extra}
        )

    say("customer")
    if rng.random() < 0.15:
        say("bot")
    events.append({"type": "assigned", "agent": agent, "at": later(1, 120)})
    say("agent", agent=agent)
    if rng.random() < 0.2:
        say("agent", agent=agent, private=True)
    for _round in range(1 if rng.random() < 0.25 else 2):  # about six messages in all
        say("customer")  # after a pending spell, this turns the conversation open again
        if rng.random() < 0.3:
            events.append({"type": "status", "status": "pending", "at": later(10, 300)})
        say("agent", agent=agent)
    if rng.random() < 0.9:
        events.append({"type": "resolved", "agent": agent, "at": later(60, 3600)})
        if rng.random() < 0.3:
            ratings.append({"score": rng.choice([5, 5, 4, 4, 3, 2, 1]), "at": later(30, 600)})
        if rng.random() < 0.1:
            say("customer")  # reopens
            say("agent", agent=agent)
            events.append({"type": "resolved", "agent": agent, "at": later(60, 1800)})
    return {
        "external_id": f"bench-{n}",
        "channel": rng.choice(CHANNELS),
        "team": TEAMS[team],
        "customer": {
            "external_id": f"bench-customer-{n}",
            "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} {n}",
            "email": f"c{n}@example.com",
        },
        "messages": messages,
        "events": events,
        "ratings": ratings,
    }


def lines(
    count: int, *, seed: int = 1, days: int = 365, until: datetime | None = None
) -> Iterator[str]:
    rng = random.Random(seed)
    until = until or datetime.now(UTC).replace(microsecond=0)
    start = until - timedelta(days=days)
    for n in range(count):
        yield json.dumps(conversation(n, rng, start, days), ensure_ascii=False)


def main() -> None:
    parser = argparse.ArgumentParser(description="Synthetic history import lines on stdout.")
    parser.add_argument("count", type=int, nargs="?", default=1000, help="conversations")
    parser.add_argument("--days", type=int, default=365, help="spread over the last N days")
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    write = sys.stdout.write
    for line in lines(options.count, seed=options.seed, days=options.days):
        write(line + "\n")


if __name__ == "__main__":
    main()
