"""Text-level brief quality: casing, sentence trimming, repetition, entity support."""

from __future__ import annotations

import pytest

from defsum import briefs

SOURCE = (
    "SEOUL, July 16 (Yonhap) -- A North Korean diplomat stationed in Cuba, Ri Il-kyu, defected to "
    "South Korea in November, the National Intelligence Service said on Tuesday. The U.S. State "
    "Department declined to comment. NATO officials met in Brussels on 3 July."
)


def test_restore_case_uses_source_spelling():
    out = briefs.restore_case("a north korean diplomat , ri il - kyu , defected to south korea .", SOURCE)
    assert out == "A North Korean diplomat, Ri Il-kyu, defected to South Korea."


def test_restore_case_abbreviations_and_acronyms():
    out = briefs.restore_case("the u . s . state department and nato declined to comment .", SOURCE)
    assert out == "The U.S. State Department and NATO declined to comment."


def test_restore_case_never_all_lower_even_for_lower_cased_source():
    source = "tony blair has dismissed reports he told gordon brown he would quit."
    out = briefs.restore_case("tony blair dismissed reports he would quit . he stays .", source)
    assert not briefs.is_all_lower(out)
    assert out == "Tony blair dismissed reports he would quit. He stays."


def test_restore_case_sentence_initial_common_word_stays_lower_mid_sentence():
    source = "The army said. Troops fired at the border."
    assert briefs.restore_case("troops of the army fired .", source) == "Troops of the army fired."


def test_sentence_case_and_pronoun():
    assert briefs.sentence_case("he left. i stayed.") == "He left. I stayed."


@pytest.mark.parametrize("address", ["https://example.com/i/may", "www.kcna.kp", "press@mofa.go.kr", "example.org/i", "kcna.kp", "yna.co.kr"])
def test_sentence_case_leaves_web_addresses_alone(address):
    assert briefs.sentence_case(address) == address
    assert briefs.sentence_case(f"{address} said i left.") == f"{address} said I left."
    assert briefs.sentence_case(f"talks ended. see {address} for more.") == f"Talks ended. See {address} for more."
    assert not briefs.has_words(address) and not briefs.has_words(f"{address}, {address}.")


def test_sentence_case_still_capitalises_after_abbreviations_and_glued_stops():
    assert briefs.sentence_case("the u.s. said i left at 3 a.m.") == "The u.s. said I left at 3 a.m."
    assert briefs.restore_case("the u.s. said i left at 3 a.m.", "The U.S. said so at 3 a.m. today.") == "The U.S. said I left at 3 a.m."


def test_copied_sentences_keep_their_own_case():
    """Casing rules for an uncased model's words used to change a cased sentence ("plan to March")."""
    text = "Thousands plan to march on the embassy in may, i.e. next month, organisers said."
    assert briefs.sentence_case(text) == "Thousands plan to march on the embassy in may, i.e. next month, organisers said."
    assert briefs.restore_case("they plan to march on friday and in may 2024 .", "They plan to march.") == \
        "They plan to march on Friday and in May 2024."


@pytest.mark.parametrize("max_words", [5, 10, 45])
def test_trim_to_sentences_respects_limit(max_words):
    text = "North Korea fired two missiles on Tuesday. Japan protested. " * 5
    out = briefs.trim_to_sentences(text, max_words)
    assert len(out.split()) <= max_words
    assert out.endswith(".")


def test_trim_keeps_complete_sentences():
    text = "North Korea fired two missiles on Tuesday. Japan protested strongly against the launch."
    assert briefs.trim_to_sentences(text, 10) == "North Korea fired two missiles on Tuesday."
    assert briefs.trim_to_sentences(text, 45) == text


def test_trim_long_first_sentence_cuts_at_clause():
    text = "North Korea fired two missiles, Japan said, and the launch came after talks failed in Hanoi"
    out = briefs.trim_to_sentences(text, 8)
    assert out == "North Korea fired two missiles, Japan said."


def test_trim_rejects_bad_limit():
    with pytest.raises(ValueError, match="max_words"):
        briefs.trim_to_sentences("A b.", 0)


def test_repeated_ngrams():
    assert briefs.repeated_ngrams("the army said the army said no") == [("the", "army", "said")]
    assert not briefs.has_repeated_ngrams("North Korea fired a missile on Tuesday.")
    assert briefs.has_repeated_ngrams("kim met kim met kim met", n=2)


def test_entity_precision_and_unsupported():
    assert briefs.entity_precision("Ri Il-kyu defected to South Korea.", SOURCE) == 1.0
    assert briefs.entity_precision("Ri defected to Japan in 2019.", SOURCE) == pytest.approx(1 / 3)
    assert briefs.unsupported_entities("Ri defected to Japan.", SOURCE) == ["japan"]
    assert briefs.entity_precision("he left.", SOURCE) == 1.0  # nothing to check


def test_entities_ignores_sentence_initial_stopwords_and_normalises_numbers():
    assert briefs.entities("The army fired 1,000 shells at Seoul's border.") == ["1000", "seoul"]
    assert briefs.entity_precision("It cost 1,000 won.", "It cost 1000 won.") == 1.0


def test_novel_words_finds_broken_copies():
    out = briefs.novel_words("talks at panmunjocation", "Talks at Panmunjom.", known={"talks", "at"})
    assert out == ["panmunjocation"]


def test_split_sentences_abbreviations():
    assert briefs.split_sentences("Mr. Kim left. U.S. officials agreed. Then he spoke.") == [
        "Mr. Kim left.", "U.S. officials agreed.", "Then he spoke."
    ]


def test_select_sentences_keeps_lead_and_order_within_budget():
    text = " ".join(f"Sentence number {i} talks about item {i}." for i in range(60))
    chosen = briefs.select_sentences(text, "Item 40 news", max_words=30)
    assert chosen[0].startswith("Sentence number 0 ")
    assert sum(len(s.split()) for s in chosen) <= 30
    positions = [text.index(s) for s in chosen]
    assert positions == sorted(positions)


def test_detokenize():
    assert briefs.detokenize("kim ' s visit , on 3 . 5 per cent ( of gdp ) .") == "kim's visit, on 3.5 per cent (of gdp)."


def test_is_sentence_rejects_headers_and_fragments():
    assert not briefs.is_sentence("Ministry of Foreign Affairs, Spokesperson's Office.")
    assert not briefs.is_sentence("Kim said.")
    assert briefs.is_sentence("The envoy left Pyongyang for Beijing on Monday.")


def test_lead_sentence_skips_headers_and_datelines():
    text = "Central Disaster and Safety Countermeasures Headquarters\nSEOUL, Sept 7 - Typhoon Hinnamnor left 11 people dead in the southeast, officials said. More rain is due."
    assert briefs.lead_sentence(text) == "Typhoon Hinnamnor left 11 people dead in the southeast, officials said."
    assert briefs.lead_sentence("Short.") == "Short."
    assert briefs.lead_sentence("   ") == ""


def test_novel_ngrams_finds_seams_not_punctuation_or_case():
    source = "Hyundai Motor and its affiliate Kia Motors said on Thursday they would recall 1.9 million vehicles."
    assert briefs.novel_ngrams("Hyundai Motor said on Thursday they would recall 1.9 million vehicles.", source) == [
        "hyundai motor said", "motor said on"]
    assert briefs.novel_ngrams("HYUNDAI MOTOR AND ITS AFFILIATE, Kia Motors, said on Thursday.", source) == []
    assert briefs.novel_ngrams("Kia Motors recalled cars.", source, 2) == ["motors recalled", "recalled cars"]
    assert briefs.novel_ngrams("Kia Motors.", source) == []  # shorter than a trigram
    other = "Kim Jong-un's envoy met officials in Malmö on 2.5 days' notice."
    assert briefs.novel_ngrams("KIM JONG-UN'S ENVOY met officials in Malmo on 2.5 days", other) == []
    assert briefs.novel_ngrams("Kim Jong-un's envoy met officials on 2.5 days' notice", other) == [
        "met officials on", "officials on 2"]


def test_novel_ngrams_do_not_run_across_sentence_or_paragraph_ends():
    source = "Talks ended in Dublin. He toured in 1998.\n\nTeam news\n\nBell starts on Sunday."
    assert briefs.novel_ngrams("Talks ended in Dublin. He toured in 1998.", source) == []  # two copied sentences
    assert briefs.novel_ngrams("Talks ended in Dublin he toured in 1998.", source) == ["in dublin he", "dublin he toured"]
    assert briefs.novel_ngrams("Team news Bell starts on Sunday.", source) == ["team news bell", "news bell starts"]
    wrapped = "North Korea fired two short-range ballistic\nmissiles into the sea, the South Korean military\nsaid on Monday."
    assert briefs.novel_ngrams("North Korea fired two short-range ballistic missiles into the sea.", wrapped) == []
    with pytest.raises(ValueError, match="n=0"):
        briefs.novel_ngrams("a b c", "a b c", 0)


def test_is_sentence_refuses_only_a_clipped_time():
    assert not briefs.is_sentence("North Korea launched a missile at about 3:17 a.")
    assert not briefs.is_sentence('The envoy said the talks would resume at 10 p."')
    for ok in ("The ministry said it had no budget for a Plan B.", "The summit ended with a statement from the U.S.",
               "North Korea launched a missile at about 3:17 a.m."):
        assert briefs.is_sentence(ok), ok


def test_novel_content_words_lets_inflections_pass():
    source = "The diplomat's defection was confirmed by officials in Seoul."
    assert briefs.novel_content_words("Officials confirmed the diplomat defected.", source) == []
    assert briefs.novel_content_words("Officials in Havana confirmed it.", source) == ["havana"]


def test_title_sentence_prefers_the_sentence_that_echoes_the_title():
    text = ("Most mornings Choe walks his granddaughter to a kindergarten near the Han River. "
            "He defected from North Korea's embassy in Bangkok in 1996 with his wife and two children. "
            "He now translates contracts.")
    assert briefs.title_sentence(text, "A diplomat who defected in Bangkok, thirty years on").startswith("He defected from")
    assert briefs.title_sentence(text, None) == briefs.lead_sentence(text)


def test_title_sentence_skips_a_repeated_headline_and_slash_datelines():
    text = ("Botswana and Namibia sign four agreements\nGABORONE/WINDHOEK, May 2 - The two governments signed "
            "four agreements on water, roads and trade at a joint commission meeting in Windhoek on Friday.")
    assert briefs.title_sentence(text, "Botswana and Namibia sign four agreements").startswith("The two governments signed")


def test_split_sentences_unglues_scraped_stops():
    from defsum.briefs import split_sentences

    assert split_sentences("Ahir said in a written reply.The survey is annual.") == [
        "Ahir said in a written reply.", "The survey is annual."]
    assert split_sentences("He works at Acme Inc.The firm grew.") == ["He works at Acme Inc. The firm grew."]
    assert split_sentences("Control passes from the PWD (Public Works Department).The move eases traffic.") == [
        "Control passes from the PWD (Public Works Department).", "The move eases traffic."]
    assert split_sentences('He said it was "committed to this cause."The plan starts today.') == [
        'He said it was "committed to this cause."', "The plan starts today."]
    assert split_sentences("He met J.K.Rowling there. Visit example.com today.") == [
        "He met J.K.Rowling there.", "Visit example.com today."]


def test_fit_words_cuts_only_at_a_clause_boundary_that_keeps_a_verb():
    long = "Seoul recalled its ambassador from Beijing on Monday, a move that angered officials in both capitals."
    assert briefs.fit_words(long, 9) == "Seoul recalled its ambassador from Beijing on Monday."
    said = "Troops fired warning shots across the line on Monday, officials in Seoul said on Tuesday."
    assert briefs.fit_words(said, 12) == "Troops fired warning shots across the line on Monday."
    # each of these cuts would leave no main clause, or a phrase or a quotation cut in half: no cut
    refused = {
        "The foreign ministers of the two Koreas and their deputies, who met at Panmunjom for three days, signed a pact.": 14,
        "When the storm made landfall on the island early on Tuesday, it knocked out power to the city.": 14,
        "The spy agency told lawmakers in Seoul on Tuesday that Kim Yo Jong, the leader's sister, was ill.": 14,
        "The suspected hacking group and its affiliated units in China, the main target of sanctions, stole coins.": 12,
        'The minister said Seoul would "respond firmly, which it always does" to any provocation at sea.': 12,
        "Warships dropped depth charges in the hunt for a submarine near the Musko naval base.": 12,
    }
    for text, n in refused.items():
        assert briefs.fit_words(text, n) is None, text
        assert len(briefs.trim_to_sentences(text, n).split()) <= n  # the last resort still fits
    assert briefs.fit_words("Kim left. He said nothing at all.", 3) == "Kim left."
    # a list is cut before its first comma, never after an item ("the driver, the owner.")
    listing = "Police questioned the driver of the truck, the owner of the haulage firm, and three passengers."
    assert briefs.fit_words(listing, 13) == "Police questioned the driver of the truck."
    # after an appositive, a describing tail is still a cut point
    envoy = "Kim Song, the North's envoy to the UN, walked out of the meeting, a move that surprised diplomats there."
    assert briefs.fit_words(envoy, 14) == "Kim Song, the North's envoy to the UN, walked out of the meeting."


def test_split_sentences_lower_cased_text_and_numbered_names():
    assert briefs.split_sentences("the bank held rates. analysts said growth was weak.") == [
        "the bank held rates.",
        "analysts said growth was weak.",
    ]
    assert briefs.split_sentences("Typhoon Hinnamnor (No. 11) made landfall. Two died.") == [
        "Typhoon Hinnamnor (No. 11) made landfall.",
        "Two died.",
    ]
    assert briefs.split_sentences("Kim said no. Putin agreed.") == ["Kim said no.", "Putin agreed."]
    assert briefs.split_sentences("He voted no. 10 others abstained.") == ["He voted no.", "10 others abstained."]
    assert briefs.split_sentences("former president george w. bush spoke. he left.") == [
        "former president george w. bush spoke.",
        "he left.",
    ]


def test_is_clipped_counts_mid_phrase_ends_only():
    source = "Ministry of Defence\nWarships hunted a submarine near the naval base, officials said. It fled."
    assert briefs.is_clipped("Warships hunted a submarine near the naval.", source)
    assert briefs.is_clipped("warships hunted a submarine near the naval.", source.upper())  # case is ignored
    assert not briefs.is_clipped("Warships hunted a submarine near the naval base.", source)
    assert not briefs.is_clipped("Ministry of Defence.", source)  # a whole line
    assert not briefs.is_clipped("Submarines are hard to find.", source)


@pytest.mark.parametrize("sentence", [
    "In Geneva, March 14-15 talks between the two Koreas ended without agreement, officials said.",
    "US - China talks on North Korea's missile programme collapsed in Geneva on Monday.",
])
def test_sentence_openings_are_not_taken_for_datelines(sentence):
    """A date range or a two-letter pair before a dash used to be cut off as a dateline ("15 talks between ...")."""
    assert briefs.strip_dateline(sentence) == sentence
    assert briefs.body_sentences(sentence) == [sentence]


def test_datelines_are_stripped_only_near_the_top():
    assert briefs.strip_dateline("SEOUL, AUG 17 - THE ENVOY LEFT.") == "THE ENVOY LEFT."
    assert briefs.strip_dateline("WASHINGTON, Dec. 3, 2019 -- The talks began.") == "The talks began."
    text = "SEOUL, May 2 - Kim arrived.\nHe met Putin.\nThey talked.\nBEIJING - China was not told, officials said."
    assert briefs.body_sentences(text)[-1] == "BEIJING - China was not told, officials said."


def test_numbers_keep_their_meaning_through_unicode_normalisation():
    """NFKC turned "1½" into "11⁄2" and "km²" into "km2" in briefs."""
    assert briefs.clean_text("It flew 1½ hours over 30 km² and ¾ of a mile.") == "It flew 1 1/2 hours over 30 km² and 3/4 of a mile."
    assert briefs.clean_text("Ｓｅｏｕｌ said ﬁve") == "Seoul said five"  # other compatibility forms still normalised


def test_all_capitals_articles_get_sentence_cased_briefs():
    """An all-capitals article gave briefs in capitals, or a mix ("Korea'S Military SAID")."""
    caps = ("SEOUL, MAY 2 - NORTH KOREA FIRED TWO BALLISTIC MISSILES INTO THE SEA OFF ITS EAST COAST ON MONDAY, "
            "SOUTH KOREA'S MILITARY SAID. THE LAUNCHES CAME DAYS AFTER PYONGYANG WARNED.")
    brief = briefs.restore_case("north korea fired two missiles into the sea on monday , south korea 's military said .",
                                "North Korea fires missiles\n" + caps)
    assert brief == "North Korea fired two missiles into the sea on Monday, south korea's military said."
    assert briefs.restore_case("then a missile flew and i saw it .", "THEN A MISSILE FLEW OVER THE SEA AS I WATCHED. I SAW IT.") == \
        "Then a missile flew and I saw it."  # one-letter words in capitals too: no "then A missile"
    assert briefs.restore_case("it flew a long way .", caps + " IT FLEW A LONG WAY.") == "It flew a long way."
    assert briefs.sentence_case("NORTH KOREA FIRED TWO MISSILES ON MONDAY.") == "North korea fired two missiles on Monday."
    assert briefs.sentence_case("NATO and the EU met in Brussels.") == "NATO and the EU met in Brussels."
    assert briefs.restore_case("the envoy of south korea 's ministry left .", "The ENVOY of SOUTH KOREA'S ministry left the capital on a quiet afternoon.") == \
        "The Envoy of South Korea's ministry left."  # capitals in a cased article: no "Korea'S"


# Articles in other scripts: defsum's models read English, but such an article still gets its lead
# sentence as a brief (and the CLI flags it non_english), never an empty one.
KOREAN = "북한이 수요일 동해상으로 탄도미사일 한 발을 발사했다. 일본 정부는 미사일이 수역 밖에 떨어졌다고 말했다."
CHINESE = "朝鲜周三向日本海发射了一枚弹道导弹，韩国联合参谋本部表示。日本政府称导弹落在其专属经济区外！美国谴责了这次发射。"
ARABIC = "أطلقت كوريا الشمالية صاروخا باليستيا يوم الأربعاء. هل ستفرض عقوبات جديدة؟ لم يتضح ذلك بعد."
RUSSIAN = "Северная Корея запустила ракету. Об этом сообщил штаб. Япония выразила протест."


@pytest.mark.parametrize(("text", "n"), [(KOREAN, 2), (CHINESE, 3), (ARABIC, 3), (RUSSIAN, 3)])
def test_split_sentences_in_other_scripts(text, n):
    sentences = briefs.split_sentences(text)
    assert len(sentences) == n and "".join(sentences).replace(" ", "") == text.replace(" ", "")


def test_english_sentence_splitting_is_unchanged_by_other_scripts():
    assert briefs.split_sentences("Kim met Émile Dupont. Él said no. He left.") == [
        "Kim met Émile Dupont.", "Él said no.", "He left."]
    assert briefs.split_sentences("The talks in 北京 ended. Both sides left.") == ["The talks in 北京 ended.", "Both sides left."]


def test_length_limits_count_unspaced_scripts_by_characters():
    assert briefs.word_count("朝鲜发射了一枚导弹。") == 5 and briefs.word_count("Kim left 北京 today.") == 4
    long = "，".join(["朝鲜周三向日本海发射了一枚弹道导弹", "韩国联合参谋本部表示", "这是今年以来的第十次发射", "日本政府称导弹落在其专属经济区外"]) + "。"
    for limit in (8, 12, 20, 45):
        out = briefs.trim_to_sentences(briefs.clean_text(long), limit)
        assert out and briefs.word_count(out) <= limit + 1 and out.endswith("。")  # + 1: the closing stop
        assert long.replace("，", ",").startswith(out[:-1])  # a leading part, cut at a comma where one fits
    assert briefs.trim_to_sentences(briefs.clean_text(long), 12) == "朝鲜周三向日本海发射了一枚弹道导弹。"
    assert briefs.longest_word(long) == 1 and briefs.longest_word("aaaaa 朝鲜发射了 bb") == 5
    japanese = "2023年10月15日、NATOのStoltenberg事務総長はBrusselsで会見し、支援を続けると述べた。"
    assert briefs.longest_word(japanese) == len("Stoltenberg")  # runs between the unspaced characters


def test_chinese_japanese_korean_inside_english_text_does_not_split_or_shorten_it():
    """A quoted or glossed phrase in another script keeps an English sentence whole, within
    the limit it had, closed with an English full stop."""
    for text in ['He shouted "我们会赢!" and left the stage after the rally in Beijing on Monday night.',
                 "Kim used the word 통일! during the speech to the assembly on Friday.",
                 "The post said 北京... and then it was deleted by the censors."]:
        assert briefs.split_sentences(text) == [text]
    assert briefs.split_sentences('He shouted "我们会赢!"') == ['He shouted "我们会赢!"']
    assert briefs.split_sentences("他说:「我们会赢。」他走了。") == ["他说:「我们会赢。」", "他走了。"]
    assert briefs.split_sentences("首相は「必ず勝つ。」と述べた。") == ["首相は「必ず勝つ。」と述べた。"]
    assert briefs.split_sentences("北朝鮮はミサイルを発射した。しかし日本は抗議した。") == [
        "北朝鮮はミサイルを発射した。", "しかし日本は抗議した。"]  # a sentence may open with hiragana
    assert briefs.split_sentences("It was 3. × 4 more. Το είπε όχι. Άγκυρα απάντησε.") == [
        "It was 3. × 4 more.", "Το είπε όχι.", "Άγκυρα απάντησε."]
    gloss = ("Chinese Foreign Minister Wang Yi (王毅) met his counterpart from the Ministry of Foreign Affairs of the "
             "People's Republic (中华人民共和国外交部) in Beijing on Monday, the ministry said.")
    assert briefs.fit_words(gloss, 30) == "Chinese Foreign Minister Wang Yi (王毅) met his counterpart from the Ministry of " \
        "Foreign Affairs of the People's Republic (中华人民共和国外交部) in Beijing on Monday."
    assert briefs.fit_words(gloss, 40) == gloss and briefs.trim_to_sentences(gloss, 40) == gloss
    assert briefs.trim_to_sentences("He met Xi Jinping 习近平 and other leaders at the summit in the capital.", 6) == \
        "He met Xi Jinping 习近平."
    assert briefs.body_sentences("Kim visits Moscow\nKim arrived.", "Kim visits Moscow (모스크바)") == ["Kim arrived."]
    nato = "NATO秘书长周一表示支持乌克兰。各国领导人出席了会议。"  # a Chinese title whose one Latin word is NATO
    assert briefs.body_sentences(nato, "NATO峰会召开") == briefs.split_sentences(nato)


def test_unspaced_cuts_stay_within_the_limit():
    for limit in (1, 2, 3, 5, 8):
        for text in ["The ministry (中华人民共和国外交部) said on Monday that the talks would resume soon.",
                     "中国人民解放军 PLA 海军 navy 舰队 fleet 出海"]:
            out = briefs.trim_to_sentences(text, limit)
            assert out and briefs.word_count(out) <= limit + 1  # + 1: a closing stop after a Latin word


def test_body_sentences_keep_sentences_when_the_title_has_no_latin_words():
    assert briefs.body_sentences(KOREAN, "북한, 탄도미사일 발사") == briefs.split_sentences(KOREAN)
    assert briefs.body_sentences("북한 미사일 발사\n" + KOREAN, "북한 미사일 발사") == briefs.split_sentences(KOREAN)
