"""Demo help center for `seed_help` (and `serve`'s first start): the demo shop's categories
and articles in English and Turkish, each Turkish one the translation of an English one."""

from django.db import transaction

from .models import Article, Category
from .services import article_save

# (slug, en name, tr slug, tr name, order)
CATEGORIES = [
    ("orders-shipping", "Orders and shipping", "siparis-kargo", "Sipariş ve kargo", 1),
    ("returns-refunds", "Returns and refunds", "iade-para-iadesi", "İade ve para iadesi", 2),
    ("billing", "Invoices and payment", "fatura-odeme", "Fatura ve ödeme", 3),
]

# (category slug, featured, en title, en body, tr title, tr body)
ARTICLES = [
    (
        "orders-shipping",
        True,
        "Where is my order?",
        """We roast on Tuesdays and Fridays and ship the same day. As soon as your parcel
leaves us you get an email with its **tracking number**.

1. Open the email "Your coffee is on its way".
2. Click the tracking link, or enter the number on the carrier's site.
3. Parcels usually arrive within **1–3 working days** in Turkey.

If the tracking shows no movement for three working days, write to us in the chat with
your order number and we will ask the carrier.""",
        "Kargom nerede?",
        """Salı ve cuma günleri kavuruyor, aynı gün kargoya veriyoruz. Paketiniz yola çıkar
çıkmaz **kargo takip numarası** içeren bir e-posta alırsınız.

1. "Kahveniz yolda" başlıklı e-postayı açın.
2. Takip bağlantısına tıklayın ya da numarayı kargo firmasının sitesine girin.
3. Türkiye içinde paketler genellikle **1–3 iş günü** içinde ulaşır.

Takip üç iş günü boyunca hareket göstermezse sipariş numaranızla sohbetten bize yazın,
kargo firmasına biz soralım.""",
    ),
    (
        "orders-shipping",
        False,
        "Changing the delivery address",
        """You can change the address until the order is roasted (Tuesday or Friday
morning). Write to us in the chat with your order number and the new address.

Once the parcel is with the carrier, the carrier's own customer service can redirect it
to a branch near you.""",
        "Teslimat adresini değiştirme",
        """Sipariş kavrulana kadar (salı ya da cuma sabahı) adresi değiştirebilirsiniz.
Sipariş numaranızı ve yeni adresi sohbetten bize yazmanız yeterli.

Paket kargoya verildiyse, kargo firmasının müşteri hizmetleri paketi size yakın bir
şubeye yönlendirebilir.""",
    ),
    (
        "returns-refunds",
        True,
        "Returning an order",
        """Unopened bags can be returned within **14 days** of delivery.

- Start the return from *My orders → Return*, or ask us in the chat.
- Pack the bags in the original box; the return shipping is free.
- We refund to your card within 5 working days of receiving the parcel.

Opened coffee cannot be returned, but if you do not like a roast, tell us: we will
make it right.""",
        "Sipariş iadesi",
        """Açılmamış paketleri teslimattan itibaren **14 gün** içinde iade edebilirsiniz.

- İadeyi *Siparişlerim → İade* bölümünden başlatın ya da sohbetten bize yazın.
- Paketleri orijinal kutusuyla gönderin; iade kargosu ücretsizdir.
- Paket bize ulaştıktan sonra 5 iş günü içinde kartınıza iade yaparız.

Açılmış kahve iade edilemez; ama bir kavrumu beğenmediyseniz söyleyin, çözelim.""",
    ),
    (
        "returns-refunds",
        False,
        "My coffee arrived damaged",
        """Sorry about that! Take a photo of the parcel and the bag, and send it to us in
the chat with your order number. We ship a replacement the next roasting day, at no cost,
and you do not need to send anything back.""",
        "Kahvem hasarlı geldi",
        """Çok üzgünüz! Paketin ve kahve poşetinin fotoğrafını çekip sipariş numaranızla
birlikte sohbetten bize gönderin. Bir sonraki kavurma gününde ücretsiz olarak yenisini
göndeririz; hiçbir şeyi geri göndermenize gerek yok.""",
    ),
    (
        "billing",
        True,
        "Getting an invoice for your order",
        """Every order comes with an **e-invoice** (e-Arşiv fatura), emailed to you when
the order ships.

For a company invoice, enter your company name, tax office and tax number at checkout.
Forgot? Write to us in the chat within 7 days and we will reissue it.""",
        "Siparişiniz için fatura",
        """Her siparişin **e-Arşiv faturası** vardır; sipariş kargoya verildiğinde e-posta
ile gönderilir.

Şirket adına fatura için ödeme sırasında şirket unvanını, vergi dairesini ve vergi
numarasını girin. Unuttuysanız 7 gün içinde sohbetten yazın, faturayı yeniden keselim.""",
    ),
    (
        "billing",
        False,
        "Which payment methods do you accept?",
        """We accept credit and debit cards (Visa, Mastercard, Troy), with up to 3
instalments on orders over ₺1,000, and bank transfer. Your card details never reach our
servers: payments go through our payment provider.""",
        "Hangi ödeme yöntemlerini kabul ediyorsunuz?",
        """Kredi kartı ve banka kartı (Visa, Mastercard, Troy) ile ödeme alıyoruz; 1.000 ₺
üzeri siparişlerde 3 taksite kadar seçenek var. Havale/EFT ile de ödeyebilirsiniz. Kart
bilgileriniz sunucularımıza hiç ulaşmaz: ödemeler ödeme sağlayıcımız üzerinden geçer.""",
    ),
]


@transaction.atomic
def seed_help_center() -> int:
    """Creates the demo categories and articles that are missing; returns how many articles."""
    categories: dict[str, tuple[Category, Category]] = {}
    for slug, name, tr_slug, tr_name, order in CATEGORIES:
        english, _ = Category.objects.get_or_create(
            language="en", slug=slug, defaults={"name": name, "order": order}
        )
        turkish, _ = Category.objects.get_or_create(
            language="tr",
            slug=tr_slug,
            defaults={"name": tr_name, "order": order, "translation_of": english},
        )
        categories[slug] = (english, turkish)
    created = 0
    for slug, featured, title, body, tr_title, tr_body in ARTICLES:
        english_category, turkish_category = categories[slug]
        english = Article.objects.filter(language="en", title=title).first()
        if english is None:
            english = article_save(
                article=Article(),
                title=title,
                body=body,
                language="en",
                category=english_category,
                published=True,
                featured=featured,
            )
            created += 1
        if not Article.objects.filter(language="tr", title=tr_title).exists():
            article_save(
                article=Article(),
                title=tr_title,
                body=tr_body,
                language="tr",
                category=turkish_category,
                translation_of=english,
                published=True,
                featured=featured,
            )
            created += 1
    return created
