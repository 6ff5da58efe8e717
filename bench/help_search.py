"""Help center search benchmark: article search and first-message suggestions at 10,000
articles (half English, half Turkish), in a database of its own.

    .venv/bin/python bench/help_search.py                      # 10,000 articles, 300 runs each
    .venv/bin/python bench/help_search.py --articles 20000 --runs 500

The database (--database, default helpdesk_bench_help) is dropped, created and migrated,
then filled with generated articles: titles and Markdown bodies of 80–300 words drawn from
a support vocabulary with a few very common words ("order", "sipariş" are in most
articles), so common terms match thousands of rows, as in a real help center.

Server time is measured inside Django: each request goes through Django's test client in
this process (routing, middleware, the DRF view, the queries, JSON), with DEBUG off.
- search: GET /api/v1/widget/articles?q=…&lang=… with what people type in a search box;
- suggestions: GET …&suggest=true with a first message as it grows while typed (every
  few characters, as the widget's debounced request sends it).
--uncapped ranks every matching row, as a search without the candidate cap would (what
the cap saves). Printed: p50, p95 and p99 in milliseconds, and whether p95 meets the target (search
50 ms, suggestions 30 ms). Not part of the test run.
"""

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import percentile, recreate_database, step  # noqa: E402

TARGETS_MS = {"search": 50, "suggestions": 30}

ENGLISH = {
    "common": "order orders your you can we the help account please".split(),
    "topics": (
        "parcel delivery shipping tracking address courier return refund exchange invoice "
        "payment card instalment bank transfer coupon discount subscription grinder beans "
        "roast espresso filter cezve password login email newsletter wholesale gift "
        "voucher damaged missing late cancel change warranty receipt tax company"
    ).split(),
    "filler": (
        "when then after before within days working week month hour time new old first "
        "last same next send get make take find check open click enter choose write ask "
        "usually always never also only still again soon today morning evening team shop "
        "page button link number code box bag coffee store site form message chat reply"
    ).split(),
    "questions": [
        "where is my parcel",
        "change delivery address",
        "refund for damaged bag",
        "invoice for company",
        "cancel subscription",
        "payment failed card",
        "reset password",
        "gift voucher",
        "return beans",
        "tracking number",
        "instalment options",
        "wholesale prices",
        "courier late",
        "order missing item",
    ],
    "messages": [
        "Hello, I ordered two bags of beans last week and the parcel has not arrived yet",
        "Hi, my card payment failed but the money left my account, can you check",
        "I would like to return an unopened bag and get a refund please",
        "Can I get an invoice for my company with our tax number",
    ],
}
TURKISH = {
    "common": "sipariş siparişiniz siz bize lütfen hesap yardım için ile".split(),
    "topics": (
        "kargo kargonuz teslimat takip adres kurye iade değişim fatura faturanız ödeme kart "
        "taksit havale kupon indirim abonelik öğütücü çekirdek kavurma espresso filtre cezve "
        "şifre giriş eposta bülten toptan hediye çeki hasarlı eksik gecikme iptal garanti "
        "makbuz vergi şirket paket"
    ).split(),
    "filler": (
        "gün içinde sonra önce hafta ay saat zaman yeni eski ilk son aynı sonraki gönderin "
        "alın bulun kontrol açın tıklayın girin seçin yazın sorun genellikle her zaman "
        "ayrıca yalnızca hâlâ yeniden yakında bugün sabah akşam ekip mağaza sayfa düğme "
        "bağlantı numara kod kutu kahve site form mesaj sohbet yanıt"
    ).split(),
    "questions": [
        "kargom nerede",
        "teslimat adresini değiştirme",
        "hasarlı paket iadesi",
        "şirket faturası",
        "aboneliği iptal",
        "kartla ödeme olmadı",
        "şifremi unuttum",
        "hediye çeki",
        "çekirdek iadesi",
        "takip numarası",
        "taksit seçenekleri",
        "toptan fiyatlar",
        "kurye gecikti",
        "siparişimde eksik ürün",
    ],
    "messages": [
        "Merhaba, geçen hafta iki paket kahve sipariş ettim ama kargom hâlâ gelmedi",
        "Kartımdan ödeme çekildi ama sipariş görünmüyor, kontrol edebilir misiniz",
        "Açılmamış bir paketi iade edip paramı geri almak istiyorum",
        "Şirketim adına vergi numaralı fatura alabilir miyim",
    ],
}
VOCABULARY = {"en": ENGLISH, "tr": TURKISH}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default="helpdesk_bench_help")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=300, help="requests per kind, measured")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--uncapped",
        action="store_true",
        help="rank every matching row (no candidate cap): what the cap saves",
    )
    return parser.parse_args()


def environment(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "0",  # DEBUG keeps every query in memory: not what a server does
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-help-only"),
        "ALLOWED_HOSTS": "testserver",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/3"),
        # The benchmark is one client asking as fast as it can: no rate limit in the way.
        "HELPDESK_RATE_WIDGET_ARTICLES": "1000000/min",
    }


def sentence(rng: random.Random, words: dict, length: int) -> str:
    """Words drawn with a skew: common words often, topics a few per sentence."""
    chosen = []
    for _ in range(length):
        roll = rng.random()
        pool = (
            words["common"] if roll < 0.15 else words["topics"] if roll < 0.4 else words["filler"]
        )
        chosen.append(rng.choice(pool))
    return " ".join(chosen).capitalize() + "."


def article_fields(rng: random.Random, language: str, number: int) -> dict:
    words = VOCABULARY[language]
    title = " ".join(rng.sample(words["topics"], 2) + rng.sample(words["filler"], 2)).capitalize()
    paragraphs = [
        " ".join(sentence(rng, words, rng.randint(8, 18)) for _ in range(rng.randint(2, 5)))
        for _ in range(rng.randint(2, 4))
    ]
    steps = "\n".join(f"{n}. {sentence(rng, words, 6)}" for n in range(1, rng.randint(2, 5)))
    body = f"{paragraphs[0]}\n\n## {title}\n\n{steps}\n\n" + "\n\n".join(paragraphs[1:])
    return {
        "title": f"{title} {number}",
        "slug": f"{language}-{number}",
        "body": body,
        "language": language,
        "published": rng.random() < 0.95,
        "featured": number % 500 == 0,
    }


def fill(count: int, seed: int) -> None:
    from helpcenter.models import Article
    from helpcenter.services import render_article

    rng = random.Random(seed)
    batch = []
    for number in range(count):
        article = Article(**article_fields(rng, "en" if number % 2 else "tr", number))
        render_article(article)
        batch.append(article)
        if len(batch) == 1000:
            Article.objects.bulk_create(batch)
            batch = []
    Article.objects.bulk_create(batch)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE helpcenter_article")


def typed_prefixes(message: str) -> list[str]:
    """The message as the widget sends it while it is typed: every 4 characters from 3."""
    return [message[:end] for end in range(3, len(message) + 1, 4)]


def measure(client, requests: list[dict], runs: int) -> list[float]:
    timings = []
    for index in range(runs + 20):  # the first 20 warm the caches and are not counted
        params = requests[index % len(requests)]
        started = time.perf_counter()
        response = client.get("/api/v1/widget/articles", params)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.content[:300]
        if index >= 20:
            timings.append(elapsed)
    return timings


def main() -> None:
    args = parse_args()
    url = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    env = environment(url)
    step(f"creating {args.database} and migrating it")
    recreate_database(url, env)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    import django

    django.setup()
    from django.test import Client

    from helpcenter import search

    if args.uncapped:
        search.CANDIDATES = search.TYPING_CANDIDATES = 10**9

    step(f"generating {args.articles:,} articles (en and tr)")
    started = time.monotonic()
    fill(args.articles, args.seed)
    step(f"generated in {time.monotonic() - started:.0f} s")

    searches = [
        {"q": query, "lang": language}
        for language, words in VOCABULARY.items()
        for query in words["questions"]
    ]
    suggestions = [
        {"q": prefix, "lang": language, "suggest": "true"}
        for language, words in VOCABULARY.items()
        for message in words["messages"]
        for prefix in typed_prefixes(message)
    ]
    random.Random(args.seed).shuffle(searches)
    random.Random(args.seed).shuffle(suggestions)
    client = Client()
    load_before = os.getloadavg()[0]
    results = {
        "search": measure(client, searches, args.runs),
        "suggestions": measure(client, suggestions, args.runs),
    }
    load_after = os.getloadavg()[0]
    print(
        f"\n{args.articles:,} articles, {args.runs} requests each (load {load_before:.2f} → {load_after:.2f})"
    )
    print(f"{'kind':<12} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  target p95")
    for kind, timings in results.items():
        p50, p95, p99 = (percentile(timings, q) for q in (50, 95, 99))
        verdict = "met" if p95 < TARGETS_MS[kind] else "MISSED"
        print(f"{kind:<12} {p50:8.1f} {p95:8.1f} {p99:8.1f}  < {TARGETS_MS[kind]} ms: {verdict}")


if __name__ == "__main__":
    main()
