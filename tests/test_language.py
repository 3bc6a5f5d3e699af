"""Text in another language than English: unspin's models read English only, so a report says so
(``language``) instead of passing a French article off as a clean one, in every door."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.batch_listing import format_listing
from service.cli import main
from service.config import Settings
from service.language import (
    CONFIDENCE,
    MIN_LETTERS,
    combine,
    identify,
    language_name,
    letters,
    letters_apart,
    status_for,
    without_names,
)
from service.report import LanguageStatus
from test_homoglyphs import disguise

FRENCH = (
    "Le gouvernement a annoncé mardi une série de mesures destinées à soutenir les agriculteurs "
    "touchés par la sécheresse. Selon le ministre, ces aides seront versées dès le mois prochain et "
    "concerneront plus de dix mille exploitations dans le sud du pays.\n"
)
GERMAN = (
    "Die Bundesregierung hat am Dienstag ein neues Maßnahmenpaket zur Unterstützung der von der "
    "Dürre betroffenen Landwirte vorgestellt. Die Hilfen sollen bereits im nächsten Monat ausgezahlt "
    "werden.\n"
)
SPANISH = (
    "El banco central decidió mantener sin cambios los tipos de interés, a pesar de la subida de "
    "la inflación en los últimos meses, según informó la entidad en un comunicado.\n"
)
ENGLISH = "The central bank left interest rates unchanged on Tuesday, despite a rise in inflation over recent months.\n"


@pytest.mark.parametrize("text, code, name", [(FRENCH, "fr", "French"), (GERMAN, "de", "German"),
                                              (SPANISH, "es", "Spanish")])
def test_another_language_is_named_with_the_reason(text, code, name):
    s = identify(text)
    assert not s.english and s.detected == code and s.name == name
    assert s.confidence is not None and s.confidence >= CONFIDENCE
    assert name in s.reason and "English only" in s.reason


def test_english_reads_as_english_disguised_too(seeds):
    for text in (*seeds.values(), ENGLISH, disguise(seeds["002_2ef1442c87ee1781.txt"])):
        s = identify(text)
        assert s.english and s.detected == "en" and s.name == "English" and s.reason is None


#: English sentences full of names (6 of them had read as Welsh or Irish at 0.90-0.998)
ENGLISH_WITH_NAMES = [
    'Plaid Cymru leader Adam Price spoke in Caerfyrddin.',
    'Irish Taoiseach Micheál Martin and Tánaiste Leo Varadkar met Sinn Féin in Dublin on Friday.',
    'Llywodraeth Cymru announces new funding for Caerdydd schools.',
    'Sinn Féin leader Mary Lou McDonald met the Taoiseach in Baile Átha Cliath.',
    "Mexican President Andrés Manuel López Obrador and Foreign Minister Marcelo Ebrard met Guatemala's Alejandro Giammattei in Tapachula, Chiapas, on Sunday.",
    'Reporting by Dave Graham in Mexico City; Additional reporting by Raúl Cortés Fernández and Diego Oré; Editing by Grant McCool',
    'Reporting by Jean-Baptiste Vey, Elizabeth Pineau, Sophie Louet and Gérard Bon; Editing by Hugh Lawson',
    'Dutch Prime Minister Mark Rutte and Finance Minister Wopke Hoekstra met Jeroen Dijsselbloem and Klaas Knot in Den Haag.',
    'Indonesian President Joko Widodo met Sri Mulyani Indrawati and Luhut Binsar Pandjaitan in Jakarta on Senin.',
    "Vietnam's Nguyen Xuan Phuc, Nguyen Phu Trong and Pham Minh Chinh met in Hanoi; Vo Van Thuong attended.",
    'Volkswagen AG Chief Executive Herbert Diess told Frankfurter Allgemeine Zeitung that Kurzarbeit at Wolfsburg would end.',
    'Llanfairpwllgwyngyll and Aberystwyth councils met officials from Ynys Môn and Cymru on Tuesday about Llywodraeth Cymru funding.',
    'CARDIFF (Reuters) - Voters in Ynys Môn and Ceredigion went to the polls on Thursday, with Plaid Cymru hoping to hold Arfon and Dwyfor Meirionnydd.',
    'Supporters of Andrés Manuel López Obrador gather at the Zócalo in Ciudad de México.',
    "Novo Nordisk's Wegovy sales beat forecasts, says Lars Fruergaard Jørgensen",
    'Attendees included Jean-Claude Juncker, Pierre Moscovici, Margrethe Vestager, Valdis Dombrovskis, Cecilia Malmström, Federica Mogherini and Frans Timmermans.',
    'Fianna Fáil and Fine Gael agreed a programme for government with Comhaontas Glas in Baile Átha Cliath.',
    'Te Pāti Māori co-leader Rawiri Waititi spoke at Waitangi on Tuesday.',
    'Banco Bilbao Vizcaya Argentaria and Caixabank shares fell in Madrid after Banco de España warned.',
    'Senedd Cymru member Rhun ap Iorwerth visited Ysbyty Gwynedd in Bangor.',
]
#: short news sentences in other languages, with the language each is named as (None: none, as
#: before: under 0.9, or too short)
OTHER_LANGUAGES = [
    ('fr', 'Le gouvernement a annoncé lundi une nouvelle réforme des retraites.', 'fr'),
    ('fr', 'La Banque centrale européenne a relevé ses taux pour la troisième fois cette année.', 'fr'),
    ('fr', "Le président Emmanuel Macron s'est rendu à Berlin pour rencontrer le chancelier.", 'fr'),
    ('de', 'Die Regierung hat am Montag beschlossen, die Steuern zu senken.', 'de'),
    ('de', 'Der Vorstandschef von Volkswagen sagte, die Nachfrage in China sei schwach.', 'de'),
    ('de', 'Die Europäische Zentralbank erhöhte den Leitzins um einen halben Prozentpunkt.', 'de'),
    ('es', 'El gobierno anunció el lunes un nuevo plan de ayudas para las empresas.', 'es'),
    ('es', 'El presidente Pedro Sánchez se reunió con los líderes sindicales en Madrid.', None),
    ('es', 'La inflación en España bajó al tres por ciento en marzo.', None),
    ('it', 'Il governo ha annunciato lunedì una nuova riforma fiscale.', 'it'),
    ('it', "La Banca d'Italia prevede una crescita dell'uno per cento nel prossimo anno.", 'it'),
    ('pt', 'O governo brasileiro anunciou nesta segunda-feira um novo pacote econômico.', 'pt'),
    ('pt', 'O presidente Lula se reuniu com ministros em Brasília para discutir o orçamento.', 'pt'),
    ('nl', 'De regering heeft maandag besloten de belastingen te verlagen.', 'nl'),
    ('nl', 'De Nederlandsche Bank verwacht dat de inflatie volgend jaar daalt.', 'nl'),
    ('cy', 'Mae Llywodraeth Cymru wedi cyhoeddi cyllid newydd ar gyfer ysgolion yng Nghaerdydd.', 'cy'),
    ('cy', 'Dywedodd y Prif Weinidog fod angen mwy o dai fforddiadwy yng Nghymru.', 'cy'),
    ('ga', 'Tá an Rialtas tar éis plean nua a fhógairt do scoileanna i mBaile Átha Cliath.', 'ga'),
    ('ga', 'Dúirt an Taoiseach go bhfuil an geilleagar ag fás go tapa.', 'ga'),
    ('sv', 'Regeringen meddelade på måndagen att skatterna ska sänkas nästa år.', 'sv'),
    ('pl', 'Rząd ogłosił w poniedziałek nowy plan pomocy dla przedsiębiorstw.', 'pl'),
    ('id', 'Pemerintah Indonesia mengumumkan paket ekonomi baru pada hari Senin.', None),
    ('tr', 'Hükümet pazartesi günü yeni bir ekonomik paket açıkladı.', 'tr'),
    ('da', 'Regeringen meddelte mandag, at skatterne skal sænkes næste år.', 'da'),
    ('fr', 'Selon le ministre, « la situation reste très préoccupante » dans le Nord.', 'fr'),
    ('de', 'Laut Angaben der Polizei wurden bei dem Unfall drei Menschen verletzt.', 'de'),
    ('es', 'Según la policía, tres personas resultaron heridas en el accidente.', 'es'),
    ('it', "Secondo la polizia, tre persone sono rimaste ferite nell'incidente.", 'it'),
    ('ro', 'Guvernul a anunțat luni un nou pachet de măsuri economice.', 'ro'),
    ('fi', 'Hallitus ilmoitti maanantaina uudesta talouspaketista.', 'fi'),
]


@pytest.mark.parametrize("text", ENGLISH_WITH_NAMES)
def test_a_short_english_text_full_of_names_is_english(text):
    """Its names are what the identifier read: six of these had read as Welsh or Irish, and their
    reports said nothing about them. With the names left out they read as English."""
    assert identify(text).english


@pytest.mark.parametrize("written_in, text, named", OTHER_LANGUAGES)
def test_a_short_text_in_another_language_with_names_is_still_named(written_in, text, named):
    """Leaving the names out leaves another language its own words (German's capitalised nouns too)."""
    s = identify(text)
    assert s.detected == named and s.english == (named is None)
    assert named in (None, written_in)


def test_without_names_keeps_first_words_and_capitals():
    assert without_names("Plaid Cymru leader Adam Price spoke in Caerfyrddin.") == "Plaid leader spoke in"
    assert without_names("It rose. Then Acme fell:\nShares of Acme") == "It rose. Then fell: Shares of"
    assert without_names("LE GOUVERNEMENT A ANNONCÉ LUNDI") == "LE GOUVERNEMENT A ANNONCÉ LUNDI"


def test_too_little_text_or_no_language_identifies_nothing():
    short = "Bonjour tout le monde, ça va?"  # French, but fewer letters than MIN_LETTERS
    assert letters(short) < MIN_LETTERS
    table = "\n".join(f"{i:>4} {i * 37:>8,} {i * 1.5:>8.2f}" for i in range(40))
    for text in (short, table, "OK", "12345 67890"):
        assert identify(text) == LanguageStatus()  # english, nothing named


ARABIC = "مرحبا بكم في هذا المقال عن السياسة والاقتصاد في العالم العربي اليوم وغدا وبعد غد\n"


@pytest.mark.parametrize("text, codes", [(ARABIC, {"ar"}), ("Привет, мир", {"ru", "bg", "uk"}), ("日本の経済", {"ja"})])
def test_a_text_mostly_in_letters_that_are_not_latin_is_not_english(text, codes):
    """However short, and however unsure the identifier is of which language it is (Arabic at 0.78
    had been read as English; nine Cyrillic letters read most like Bulgarian, at 0.26)."""
    s = identify(text)
    assert not s.english and s.detected in codes and s.name and "English only" in s.reason
    assert s.confidence is not None and (s.confidence >= CONFIDENCE or "not Latin letters" in s.reason)


def test_letters_that_are_not_latin_are_counted_as_the_models_read_them():
    assert letters_apart("Ｈｅｌｌｏ wörld Straße") == (16, 0)  # fullwidth and accented Latin
    assert letters_apart("Москва and Berlin") == (15, 6)
    assert identify("Москва and Berlin, Paris, London and Rome, all of them capitals.").english  # 6 of 50
    assert identify(disguise("The central bank left interest rates unchanged on Tuesday.")).english


def test_status_for_names_a_language_only_when_sure():
    assert status_for("fr", CONFIDENCE - 0.01) == LanguageStatus()
    assert not status_for("fr", CONFIDENCE).english
    assert status_for("zxx", 0.99) == LanguageStatus()  # py3langid's "no language" class
    assert status_for("en", 0.95) == LanguageStatus(detected="en", name="English", confidence=0.95)
    assert status_for(None, None) == LanguageStatus()
    assert language_name("el") == "Modern Greek" and language_name("pcm") == "Nigerian Pidgin"


def test_combine_names_the_language_of_most_of_the_letters():
    en, fr = identify(ENGLISH * 5), identify(FRENCH)
    n_en, n_fr = letters(ENGLISH * 5), letters(FRENCH)
    assert combine([(n_en, en), (n_en, en)]).detected == "en"
    assert combine([(n_en, en), (n_fr, fr)]).detected == "en"  # English over two thirds of the letters
    assert not combine([(n_en, en), (n_fr * 3, fr), (n_fr * 3, fr)]).english  # French over most of them
    assert combine([(n_en, en), (n_en, fr), (n_en, LanguageStatus())]) == LanguageStatus()  # none holds half
    assert combine([(10, LanguageStatus()), (20, LanguageStatus())]) == LanguageStatus()
    assert combine([]) == LanguageStatus()


def test_combine_keeps_parts_told_by_their_letters_and_languages_mixed():
    ar, en, fr, de = identify(ARABIC), identify(ENGLISH * 5), identify(FRENCH), identify(GERMAN)
    assert ar.confidence < CONFIDENCE
    n_ar, n_en = letters(ARABIC), letters(ENGLISH * 5)
    both = combine([(n_en, ar), (n_en, ar), (n_en, en)])
    assert not both.english and both.detected == "ar" and "not Latin letters" in both.reason
    assert combine([(n_ar, ar), (n_en, en)]).detected == "en"  # mostly English
    mixed = combine([(100, fr), (100, de), (50, en)])  # not English, no language over half of it
    assert not mixed.english and mixed.detected is None and "languages other than English" in mixed.reason


def test_engine_reports_the_language(engine, seeds):
    r = engine.score(FRENCH)
    assert r.language.detected == "fr" and not r.language.english
    assert r.label == "clean"  # the verdict is left as found; the language block says what it is worth
    assert engine.score(seeds["000_37063bd84aa4b837.txt"]).language.detected == "en"


def test_score_parts_names_the_language_of_the_document(engine):
    assert not engine.score_parts([FRENCH, "\n", GERMAN]).language.english
    assert engine.score_parts([ARABIC, "\n", ARABIC]).language.detected == "ar"
    assert engine.score_parts([ENGLISH * 3, "\n", ENGLISH * 3]).language.detected == "en"
    assert engine.score_parts([ENGLISH * 6, FRENCH]).language.detected == "en"  # mostly English


def test_cli_outputs_say_not_english(runner, ngram_env, tmp_path):
    (tmp_path / "fr.txt").write_text(FRENCH, encoding="utf-8")
    (tmp_path / "en.txt").write_text(ENGLISH, encoding="utf-8")
    text = runner.invoke(main, ["score", str(tmp_path / "fr.txt"), str(tmp_path / "en.txt")], catch_exceptions=False)
    assert text.exit_code == 0
    first, second = [line for line in text.stdout.splitlines() if line.startswith(str(tmp_path))]
    assert "NOT ENGLISH: the text reads as French" in first and "NOT ENGLISH" not in second
    out = runner.invoke(main, ["score", "--format", "csv", str(tmp_path)], catch_exceptions=False)
    rows = {r["path"].rsplit("/", 1)[-1]: r for r in csv.DictReader(io.StringIO(out.stdout))}
    assert rows["fr.txt"]["language"] == "fr" and rows["en.txt"]["language"] == "en"
    assert "2 of 2 documents scored" in out.stderr and "1 not in English (its report says nothing about it)" in out.stderr
    page = runner.invoke(main, ["score", "--format", "html", str(tmp_path)], catch_exceptions=False)
    assert page.stdout.count("Not English: the text reads as French") == 1
    assert "0 failed, 1 not in English." in page.stdout
    (tmp_path / "de.txt").write_text(GERMAN, encoding="utf-8")
    out = runner.invoke(main, ["score", "--format", "jsonl", str(tmp_path)], catch_exceptions=False)
    assert "2 not in English (their reports say nothing about them)" in out.stderr
    (tmp_path / "de.txt").unlink()
    (tmp_path / "fr.txt").unlink()
    out = runner.invoke(main, ["score", "--format", "jsonl", str(tmp_path)], catch_exceptions=False)
    assert "English" not in out.stderr


def test_listing_is_unchanged_for_english(engine):
    r = engine.score(ENGLISH)
    assert "NOT ENGLISH" not in format_listing(r, ENGLISH)


def test_api_and_languagetool_protocol_say_not_english(engine):
    with TestClient(create_app(Settings(lm="ngram"), engine=engine)) as c:
        v1 = c.post("/v1/score", json={"text": FRENCH}).json()
        lt = c.post("/v2/check", data={"language": "auto", "text": FRENCH}).json()
        lt_en = c.post("/v2/check", data={"language": "en-US", "text": ENGLISH}).json()
    assert v1["language"]["english"] is False and v1["language"]["detected"] == "fr"
    assert lt["warnings"]["incompleteResults"] is True
    assert "not English" in lt["warnings"]["incompleteResultsReason"]
    assert "not checked" in lt["warnings"]["incompleteResultsReason"]  # no grammar server either: both said
    assert lt["language"]["code"] == "en-US"  # what was checked
    assert lt["language"]["detectedLanguage"]["code"] == "fr" and lt["language"]["detectedLanguage"]["name"] == "French"
    assert "not English" not in lt_en["warnings"]["incompleteResultsReason"]
    detected = lt_en["language"]["detectedLanguage"]
    assert detected["code"] == "en-US" and 0.9 <= detected["confidence"] <= 1.0


def test_languagetool_protocol_is_complete_for_english_with_grammar(engine, fake_languagetool):
    from service.engine import Engine

    settings = Settings(lm="ngram", languagetool_url=fake_languagetool.url, languagetool_timeout=3)
    eng = Engine(settings, lm=engine.lm, ngram=engine.ngram, fusion=engine.fusion, lexicon=engine.lexicon,
                 garble=engine.garble)
    with TestClient(create_app(settings, engine=eng)) as c:
        en = c.post("/v2/check", data={"language": "en-US", "text": ENGLISH}).json()
        fr = c.post("/v2/check", data={"language": "en-US", "text": FRENCH}).json()
    assert en["warnings"] == {"incompleteResults": False}
    assert fr["warnings"]["incompleteResults"] is True
    reason = fr["warnings"]["incompleteResultsReason"]
    assert "not English" in reason and "not checked" not in reason


def test_languagetool_protocol_names_mixed_languages_unknown_not_the_language_checked():
    """A long text of French and German parts, not English and no one language, had its
    ``detectedLanguage`` given as the language checked (English), with confidence 0.9, beside a
    warning that it is not English."""
    from service.api.languagetool import detected_language, resolve_language
    from service.report import Report

    mixed = LanguageStatus(english=False, reason="it reads as languages other than English")
    report = Report(score=0.0, label="clean", lm="ngram:cmu-en-us", language=mixed)
    for code in ("en-US", "auto"):
        language, detected = resolve_language(code)
        assert detected_language(report, language, detected) == {
            "name": "Unknown", "code": "zz", "confidence": 0.0, "source": "unspin"}
