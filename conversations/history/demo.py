"""Demo history for `seed_demo`: realistic conversations as import records.

The records go through the history importer, so demo data follows exactly the rules of live
use and of any real migration (one path for history). Conversation `i` is generated from its
own seeded random source, so the same ids always describe the same story and re-seeding
skips what is already there.
"""

import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.dispatch import Signal
from django.utils import timezone

from ..models import Team
from ..seams import agent_provisioner


@dataclass(frozen=True)
class DemoAgent:
    email: str
    name: str
    teams: tuple[str, ...]
    capacity: int = 3


DEFAULT_TEAM = "Support"
TEAMS = ("Support", "Billing", "Sales")
AGENTS = (
    DemoAgent("ayse@example.com", "Ayşe Yılmaz", ("Support", "Billing"), 4),
    DemoAgent("mehmet@example.com", "Mehmet Demir", ("Support",)),
    DemoAgent("alice@example.com", "Alice Martin", ("Support", "Sales")),
    DemoAgent("bob@example.com", "Bob Carter", ("Billing",)),
    DemoAgent("zeynep@example.com", "Zeynep Kaya", ("Sales", "Support"), 2),
)
DAYS = 30

# Sent by `seed_demo` once its history is in: higher apps add their demo data (the agents
# app: canned responses), which the core cannot name.
demo_seeded = Signal()

CUSTOMER_NAMES = {
    "en": [
        "Emma Johnson",
        "Liam Smith",
        "Olivia Brown",
        "Noah Davis",
        "Sophia Wilson",
        "James Taylor",
        "Mia Anderson",
        "Lucas Thomas",
        "Amelia Moore",
        "Ethan Clark",
        "Harper Lewis",
        "Daniel Walker",
        "Chloe Hall",
        "Henry Young",
        "Grace King",
    ],
    "tr": [
        "Elif Şahin",
        "Mehmet Öztürk",
        "Zeynep Arslan",
        "Can Yıldız",
        "Selin Aydın",
        "Burak Çelik",
        "Deniz Koç",
        "Ebru Kurt",
        "Emre Doğan",
        "Gizem Aksoy",
        "Oğuz Polat",
        "İrem Güneş",
        "Kerem Erdoğan",
        "Merve Uçar",
        "Tolga Işık",
    ],
}

# Each topic: the team it belongs to and, per language, the lines of a typical story.
TOPICS: dict[str, dict[str, Any]] = {
    "order_status": {
        "team": "Support",
        "en": {
            "open": [
                "Hi, I ordered a blender last Tuesday (order #48213) and the tracking hasn't "
                "moved since Friday. Can you check?",
                "Where is my order? It was supposed to arrive yesterday.",
            ],
            "detail": "The tracking page just says 'in transit'.",
            "reply": "Thanks for your patience! I'm checking with the courier now.",
            "question": "Could you confirm the delivery address on the order, including the "
            "flat number?",
            "answer": "Sure: 12 Baker Street, flat 3B, London.",
            "fix": "The courier had the wrong flat number; it's corrected and your parcel "
            "will be delivered tomorrow before noon.",
            "note": "Courier ticket opened, ref KRG-2231.",
            "reopen": "It still hasn't arrived today, unfortunately.",
        },
        "tr": {
            "open": [
                "Merhaba, geçen salı sipariş verdim (sipariş no 48213), kargo takibi cumadan "
                "beri güncellenmiyor. Kontrol edebilir misiniz?",
                "Siparişim nerede? Dün gelmesi gerekiyordu.",
            ],
            "detail": "Takip sayfasında sadece 'yolda' yazıyor.",
            "reply": "Sabrınız için teşekkürler! Kargo firmasıyla hemen iletişime geçiyorum.",
            "question": "Siparişteki teslimat adresini daire numarasıyla birlikte teyit "
            "edebilir misiniz?",
            "answer": "Tabii: Moda Cad. No 12 Daire 3, Kadıköy, İstanbul.",
            "fix": "Kargoda daire numarası eksikmiş; düzelttik, paketiniz yarın öğleden "
            "önce teslim edilecek.",
            "note": "Kargo firmasına kayıt açıldı, ref KRG-2231.",
            "reopen": "Maalesef bugün de gelmedi.",
        },
    },
    "password": {
        "team": "Support",
        "en": {
            "open": [
                "I can't log in: the password reset email never arrives.",
                "My account is locked after too many login attempts. Help!",
            ],
            "detail": "I've checked the spam folder too.",
            "reply": "Sorry about that! Let me look at your account.",
            "question": "Which email address did you sign up with?",
            "answer": "It's the same one I'm writing from.",
            "fix": "Your address was on a bounce list; I've cleared it and sent a new reset "
            "link. It should arrive within a minute.",
            "note": "Removed the address from the mail provider's suppression list.",
            "reopen": "The new link says it has expired.",
        },
        "tr": {
            "open": [
                "Şifremi sıfırlamaya çalışıyorum ama e-posta hiç gelmiyor.",
                "Çok fazla deneme yaptığım için hesabım kilitlendi, yardım eder misiniz?",
            ],
            "detail": "Spam klasörüne de baktım.",
            "reply": "Bunun için üzgünüz! Hesabınızı hemen kontrol ediyorum.",
            "question": "Hangi e-posta adresiyle kayıt olmuştunuz?",
            "answer": "Şu an yazdığım adresle.",
            "fix": "Adresiniz geri dönen e-postalar listesindeymiş; temizledim ve yeni bir "
            "sıfırlama bağlantısı gönderdim.",
            "note": "Adres, e-posta sağlayıcısının engel listesinden çıkarıldı.",
            "reopen": "Yeni bağlantının süresi dolmuş diyor.",
        },
    },
    "double_charge": {
        "team": "Billing",
        "en": {
            "open": [
                "I was charged twice for my subscription this month. Can I get a refund for "
                "the duplicate?",
            ],
            "detail": "Both charges are $29.00, on the 3rd.",
            "reply": "I'm sorry for the trouble, I'll look into the payments right away.",
            "question": "Could you send me the last four digits of the card that was charged?",
            "answer": "It ends in 4417.",
            "fix": "You're right, the second charge was a duplicate. I've refunded $29.00; "
            "your bank should show it within 5 business days.",
            "note": "Duplicate charge caused by a payment retry. Refund issued.",
            "reopen": "I still don't see the refund on my statement.",
        },
        "tr": {
            "open": [
                "Bu ay aboneliğim için iki kez ücret alındı. Fazla çekilen tutarın iadesini "
                "alabilir miyim?",
            ],
            "detail": "İki çekim de ayın 3'ünde, 899 TL.",
            "reply": "Yaşadığınız sorun için özür dileriz, ödemeleri hemen inceliyorum.",
            "question": "Ücret çekilen kartın son dört hanesini paylaşabilir misiniz?",
            "answer": "4417 ile bitiyor.",
            "fix": "Haklısınız, ikinci çekim mükerrermiş. 899 TL iade edildi; bankanıza göre "
            "5 iş günü içinde hesabınıza geçer.",
            "note": "Ödeme tekrarı yüzünden mükerrer çekim. İade yapıldı.",
            "reopen": "İade hâlâ ekstremde görünmüyor.",
        },
    },
    "invoice": {
        "team": "Billing",
        "en": {
            "open": ["Could you send me an invoice with our company VAT number on it?"],
            "detail": "Our VAT number is GB 123 4567 89.",
            "reply": "Of course, I can help with that.",
            "question": "Should the invoice be addressed to the company name on your account, "
            "Northwind Ltd?",
            "answer": "Yes, Northwind Ltd is correct.",
            "fix": "Done! The corrected invoice is attached to your account under "
            "Billing → Invoices.",
            "note": "Updated billing profile with the VAT number.",
            "reopen": "Sorry, the address on the invoice is still the old one.",
        },
        "tr": {
            "open": ["Şirketimizin vergi numarasıyla fatura kesebilir misiniz?"],
            "detail": "Vergi numaramız 1234567890, Kadıköy Vergi Dairesi.",
            "reply": "Elbette, hemen yardımcı olayım.",
            "question": "Fatura hesabınızdaki şirket adına, Anadolu Yazılım A.Ş. adına mı "
            "kesilsin?",
            "answer": "Evet, Anadolu Yazılım A.Ş. doğru.",
            "fix": "Tamamdır! Düzeltilmiş fatura hesabınızda Faturalar bölümünde.",
            "note": "Fatura profiline vergi numarası eklendi.",
            "reopen": "Kusura bakmayın, faturadaki adres hâlâ eski adres.",
        },
    },
    "volume_pricing": {
        "team": "Sales",
        "en": {
            "open": ["We're a team of 25. Do you offer volume discounts on the Business plan?"],
            "detail": "We'd pay yearly if that helps.",
            "reply": "Thanks for your interest! Yes, we do have team pricing.",
            "question": "Would you like a quote for 25 seats on yearly billing?",
            "answer": "Yes please, 25 seats, yearly.",
            "fix": "I've sent the quote to your email: 20% off for 25 seats on yearly billing. "
            "It's valid for 30 days.",
            "note": "Qualified lead, 25 seats. Follow up next week.",
            "reopen": "We've grown to 32 people, can you update the quote?",
        },
        "tr": {
            "open": ["25 kişilik bir ekibiz. Business paketinde toplu alım indirimi var mı?"],
            "detail": "Yıllık ödeme de yapabiliriz.",
            "reply": "İlginiz için teşekkürler! Evet, ekip fiyatlarımız var.",
            "question": "Yıllık ödemeyle 25 kullanıcı için teklif hazırlamamı ister misiniz?",
            "answer": "Evet lütfen, 25 kullanıcı, yıllık.",
            "fix": "Teklifi e-postanıza gönderdim: yıllık ödemede 25 kullanıcıya %20 indirim. "
            "30 gün geçerli.",
            "note": "Nitelikli fırsat, 25 kullanıcı. Haftaya takip et.",
            "reopen": "Ekibimiz 32 kişiye çıktı, teklifi güncelleyebilir misiniz?",
        },
    },
    "demo": {
        "team": "Sales",
        "en": {
            "open": ["Could we schedule a product demo for next week?"],
            "detail": "Tuesday or Wednesday afternoon would be ideal.",
            "reply": "We'd love to show you around!",
            "question": "Does Wednesday at 14:00 (UTC) work for you?",
            "answer": "Wednesday 14:00 works.",
            "fix": "Great, the invitation is in your inbox. See you on Wednesday!",
            "note": "Demo booked, interested in the reports module.",
            "reopen": "Something came up, could we move the demo to Friday?",
        },
        "tr": {
            "open": ["Gelecek hafta için bir ürün demosu ayarlayabilir miyiz?"],
            "detail": "Salı ya da çarşamba öğleden sonra uygun olur.",
            "reply": "Size ürünü göstermekten memnuniyet duyarız!",
            "question": "Çarşamba 17:00 (TSİ) size uyar mı?",
            "answer": "Çarşamba 17:00 uygun.",
            "fix": "Harika, davet e-postanıza gönderildi. Çarşamba görüşmek üzere!",
            "note": "Demo planlandı, raporlama modülüyle ilgileniyorlar.",
            "reopen": "Bir işim çıktı, demoyu cumaya alabilir miyiz?",
        },
    },
    "damaged": {
        "team": "Support",
        "en": {
            "open": [
                "My package arrived today but the glass carafe is cracked.",
                "The kettle I received doesn't turn on at all.",
            ],
            "detail": "I can send a photo if needed.",
            "reply": "I'm so sorry to hear that! We'll make it right.",
            "question": "Could you send us a photo of the damage and of the box label?",
            "answer": "Here you go, I've attached both photos.",
            "fix": "Thanks! A replacement is on its way (tracking number TR-88413). No need to "
            "send the broken one back.",
            "note": "Replacement order #48990 created, damage reported to the courier.",
            "reopen": "The replacement arrived, but it has the same problem.",
        },
        "tr": {
            "open": [
                "Paketim bugün geldi ama cam sürahi çatlak çıktı.",
                "Gelen su ısıtıcısı hiç çalışmıyor.",
            ],
            "detail": "Gerekirse fotoğraf gönderebilirim.",
            "reply": "Bunu duyduğuma çok üzüldüm! Hemen çözelim.",
            "question": "Hasarın ve kutu etiketinin fotoğrafını gönderebilir misiniz?",
            "answer": "Buyurun, iki fotoğrafı da ekledim.",
            "fix": "Teşekkürler! Yenisi yola çıktı (takip no TR-88413). Kırık ürünü geri "
            "göndermenize gerek yok.",
            "note": "Yedek sipariş #48990 açıldı, hasar kargoya bildirildi.",
            "reopen": "Yenisi geldi ama aynı sorun var.",
        },
    },
    "delete_account": {
        "team": "Support",
        "en": {
            "open": ["How do I delete my account and all my data?"],
            "detail": "I no longer use the service.",
            "reply": "I can help you with that.",
            "question": "Before I proceed: do you want an export of your data first?",
            "answer": "No thanks, just delete everything.",
            "fix": "Your account and data have been deleted. You'll get a confirmation email "
            "shortly.",
            "note": "Deletion request verified by email.",
            "reopen": "I'm still receiving your newsletter.",
        },
        "tr": {
            "open": ["Hesabımı ve tüm verilerimi nasıl silebilirim?"],
            "detail": "Artık hizmeti kullanmıyorum.",
            "reply": "Bu konuda yardımcı olabilirim.",
            "question": "Devam etmeden önce verilerinizin bir dökümünü ister misiniz?",
            "answer": "Hayır teşekkürler, her şeyi silin.",
            "fix": "Hesabınız ve verileriniz silindi. Birazdan onay e-postası alacaksınız.",
            "note": "Silme talebi e-postayla doğrulandı.",
            "reopen": "Bülteniniz hâlâ geliyor.",
        },
    },
}

SMALL_TALK = {
    "en": {
        "bot": "Thanks for your message! An agent will reply shortly; you can close this "
        "window, we'll keep the conversation here.",
        "thanks": ["Thank you so much!", "Perfect, thanks!", "Great, that solved it."],
        "chase": "Any update on this?",
        "again": "Sorry to hear that! Let me look into it again.",
        "sorted": "All sorted now, and I've added a note so it doesn't happen again. "
        "Anything else I can do?",
        "praise": ["Fast and friendly, thanks!", "Solved quickly.", "Very helpful agent."],
        "complaint": ["Took a while.", "I had to explain everything twice."],
    },
    "tr": {
        "bot": "Mesajınız için teşekkürler! Bir temsilcimiz kısa süre içinde yanıt verecek; "
        "pencereyi kapatabilirsiniz, konuşmanız burada kalacak.",
        "thanks": ["Çok teşekkür ederim!", "Süper, teşekkürler!", "Harika, sorun çözüldü."],
        "chase": "Bununla ilgili bir gelişme var mı?",
        "again": "Bunu duyduğuma üzüldüm! Hemen tekrar bakıyorum.",
        "sorted": "Şimdi hallettik, tekrar yaşanmaması için de not düştüm. Başka bir konuda "
        "yardımcı olabilir miyim?",
        "praise": ["Hızlı ve ilgili, teşekkürler!", "Hemen çözüldü.", "Çok yardımsever."],
        "complaint": ["Biraz uzun sürdü.", "Her şeyi iki kez anlatmak zorunda kaldım."],
    },
}
CHANNELS = ("web", "web", "web", "web", "email", "api")
SCORES = (1, 2, 3, 4, 4, 4, 5, 5, 5, 5, 5)


def ensure_teams() -> None:
    """The demo teams; Support takes new conversations unless another team already does."""
    for name in TEAMS:
        if not Team.objects.filter(name__iexact=name).exists():
            Team.objects.create(name=name)
    if not Team.objects.filter(is_default=True).exists():
        Team.objects.filter(name__iexact=DEFAULT_TEAM).update(is_default=True)


def ensure_agents() -> None:
    """The demo agents, made by the registered agent provisioner (agents' own service)."""
    provision = agent_provisioner()
    teams = {team.name.lower(): team for team in Team.objects.all()}
    for agent in AGENTS:
        provision(
            email=agent.email,
            name=agent.name,
            teams=[teams[name.lower()] for name in agent.teams],
            capacity=agent.capacity,
        )


def demo_records(count: int, *, now: datetime | None = None) -> Iterator[dict[str, Any]]:
    """`count` conversations over the last DAYS days, as history import records."""
    now = now or timezone.now()
    customers = max(10, count * 2 // 3)  # so that some customers come back
    for number in range(1, count + 1):
        yield _Story(number, customers, now).record()


class _Story:
    """One conversation's history, told step by step until it reaches the present."""

    def __init__(self, number: int, customers: int, now: datetime):
        self.rng = random.Random(f"helpdesk-demo-{number}")
        self.number = number
        self.now = now
        customer = self.rng.randrange(1, customers + 1)
        self.lang = "tr" if customer % 5 < 2 else "en"
        names = CUSTOMER_NAMES[self.lang]
        self.customer_name = names[customer % len(names)]
        self.customer_id = f"demo-u-{customer}"
        self.topic_name = self.rng.choice(list(TOPICS))
        self.lines = TOPICS[self.topic_name][self.lang]
        self.talk = SMALL_TALK[self.lang]
        self.team = TOPICS[self.topic_name]["team"]
        self.agents = [agent.email for agent in AGENTS if self.team in agent.teams]
        self.agent = self.rng.choice(self.agents)
        self.messages: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.ratings: list[dict[str, Any]] = []
        # Business hours in the customer's part of the world, any of the last DAYS days.
        day = now - timedelta(days=self.rng.randrange(DAYS))
        start = day.replace(hour=self.rng.randint(7, 20), minute=self.rng.randrange(60))
        self.t = min(start, now - timedelta(minutes=self.rng.randint(5, 90)))
        # Only stories of the last two days may end unresolved: older ones were closed.
        self.recent = now - self.t < timedelta(days=2)

    # --- telling the story ---------------------------------------------------------------

    def record(self) -> dict[str, Any]:
        try:
            self.tell()
        except _Now:
            pass  # the story reached the present: it stays open, pending or snoozed
        return {
            "external_id": f"demo-{self.number}",
            "channel": self.rng.choice(CHANNELS),
            "team": self.team,
            "customer": {
                "external_id": self.customer_id,
                "name": self.customer_name,
                "email": _email_for(self.customer_name, self.customer_id),
            },
            "messages": self.messages,
            "events": self.events,
            "ratings": self.ratings,
        }

    def tell(self) -> None:
        rng = self.rng
        self.customer(rng.choice(self.lines["open"]))
        if rng.random() < 0.4:
            self.customer(self.lines["detail"], after=(0.5, 5))
        if rng.random() < 0.15:
            self.say("bot", self.talk["bot"], after=(0.05, 0.2))
        if rng.random() < 0.85:
            self.event("assigned", after=(0, 30), agent=self.agent)
        if rng.random() < 0.1:
            self.customer(self.talk["chase"], after=(30, 300))
        if rng.random() < 0.25:
            self.agent_says(self.lines["note"], after=(1, 20), private=True)
        self.agent_says(self.lines["reply"], after=(1, 240))
        if rng.random() < 0.45:
            self.agent_says(self.lines["question"], after=(0.5, 5))
            self.event("status", after=(0.1, 1), status="pending")
            self.customer(self.lines["answer"], after=(10, 2000))
        if rng.random() < 0.12:
            self.snooze()
        self.agent_says(self.lines["fix"], after=(2, 180))
        if rng.random() < 0.4:
            self.customer(rng.choice(self.talk["thanks"]), after=(1, 60))
        if self.recent and rng.random() < 0.3:
            return  # fixed a moment ago, nobody closed it yet
        self.event("resolved", after=(1, 120), agent=self.agent)
        if rng.random() < 0.55:
            self.rate(after=(1, 600))
        if rng.random() < 0.15:
            self.reopened_cycle()

    def reopened_cycle(self) -> None:
        rng = self.rng
        self.customer(self.lines["reopen"], after=(600, 6000))
        self.agent_says(self.talk["again"], after=(2, 300))
        self.agent_says(self.talk["sorted"], after=(10, 600))
        if not self.recent or rng.random() < 0.7:
            self.event("resolved", after=(5, 120), agent=self.agent)
            if rng.random() < 0.5:
                self.rate(after=(1, 300))

    def snooze(self) -> None:
        """The agent waits on something (a courier, a refund) and snoozes until tomorrow."""
        self.event("status", after=(1, 10), status="snoozed", until=timedelta(days=1))
        if self.rng.random() < 0.5:
            self.customer(self.talk["chase"], after=(60, 1200))
        else:
            self.event("status", after=(1440, 1441), status="open")

    # --- one step each ----------------------------------------------------------------------

    def advance(self, after: tuple[float, float]) -> str:
        """Move the clock on by a random number of minutes in `after`; stop at the present."""
        low, high = after
        minutes = self.rng.uniform(low, high)
        self.t += timedelta(minutes=minutes)
        if self.t >= self.now:
            raise _Now
        return self.t.isoformat()

    def customer(self, body: str, after: tuple[float, float] = (0, 0)) -> None:
        self.say("customer", body, after=after)

    def agent_says(self, body: str, after: tuple[float, float], private: bool = False) -> None:
        self.say("agent", body, after=after, agent=self.agent, private=private)

    def say(self, kind: str, body: str, *, after: tuple[float, float], **fields: Any) -> None:
        sent_at = self.advance(after)
        self.messages.append({"author_kind": kind, "body": body, "sent_at": sent_at, **fields})

    def event(self, kind: str, *, after: tuple[float, float], until: Any = None, **fields: Any):
        at = self.advance(after)
        event = {"type": kind, "at": at, **fields}
        if until is not None:
            event["snoozed_until"] = (self.t + until).isoformat()
        self.events.append(event)

    def rate(self, after: tuple[float, float]) -> None:
        at = self.advance(after)
        score = self.rng.choice(SCORES)
        comments = self.talk["praise" if score >= 4 else "complaint"]
        comment = self.rng.choice(comments) if self.rng.random() < 0.5 else ""
        self.ratings.append({"score": score, "comment": comment, "at": at})


class _Now(Exception):
    """The story has caught up with the present."""


def _email_for(name: str, external_id: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name.replace("ı", "i").replace("İ", "I"))
    local = ".".join(ascii_name.encode("ascii", "ignore").decode().lower().split())
    return f"{local}.{external_id.rsplit('-', 1)[-1]}@example.net"
