"""Word lists for the synthetic stream generator (:mod:`trendlab.samples`).

Plain data, no logic. Per language:

* ``CONTENT`` — content words, roughly in frequency order (the generator draws them with Zipf-like
  weights by position, so the first words are the common ones). Words the keyword extractor would
  drop (stop words, too short) are filtered out by the generator, so a list may be generous.
* ``FUNCTION`` — function words (articles, pronouns, auxiliaries) that glue content words into a
  sentence; the generator keeps only those the extractor treats as stop words.
* ``HASHTAGS`` — everyday background hashtags.
* Japanese is different: ``JA_NOUNS`` are joined by ``JA_PARTICLES`` and end in ``JA_PREDICATES``
  (verb and adjective endings that contain no nouns).

Words used by injected trends and decoys live in :mod:`trendlab.samples` and must not appear here
(a unit test checks it), except the ``rising_common`` / ``weak`` words, which are background words by
definition and are picked from these lists.
"""

from __future__ import annotations

EN_CONTENT = """
people love game music art book movie news city night friend friends family dog cat coffee food
weather rain morning week weekend photo video song album team season fans thread lol omg
happy birthday good great best new old little big amazing beautiful awesome cool funny weird sad
tired excited finally actually literally probably honestly maybe tonight tomorrow yesterday
watch watching play playing read reading write writing listen listening cook cooking drink
eat eating sleep sleeping walk walking drive driving travel travelling paint painting draw drawing
garden gardening bake baking knit knitting
pizza tea beer wine bread soup cake cookies pasta tacos sandwich breakfast lunch dinner snack
coworker boss office meeting email project deadline job career interview salary
school class teacher student homework exam university campus lecture
doctor hospital health sick cold flu headache therapy meds
phone laptop computer app website software code bug update server internet wifi battery
game games gaming controller level boss fight stream streamer twitch
football soccer basketball baseball hockey tennis golf race player players coach score lose
match league playoffs trade goal goals
film films cinema actor actress director trailer episode series finale plot character characters
book books novel author chapter library poetry poem story stories comic comics manga anime
song songs band concert tour guitar piano drums vinyl playlist lyrics singer rapper
art artist artwork sketch illustration painting canvas photography camera lens portrait
sunset sunrise sky moon stars clouds ocean beach lake river mountain forest trail park
spring summer autumn winter snow storm wind heat
dog dogs puppy cat cats kitten bird birds fish horse cow chicken frog
house apartment kitchen bedroom couch bed window door yard street neighborhood
car bus train bike plane airport flight ticket trip vacation hotel
money rent bills taxes budget price prices market store shopping sale
politics election vote government president congress senate court law policy
climate planet science research study data space nasa rocket
internet twitter bluesky timeline feed mute block likes
kids baby mom dad sister brother wife husband partner grandma
shirt shoes jacket hat dress glasses
morning coffee vibes mood energy brain heart soul
cute adorable gorgeous stunning incredible wild chaotic cozy chill spicy sweet salty
hate miss hope wish dream plan idea question answer problem reason
minutes hours month months morning evening
blue red green yellow purple pink black white orange
bread butter cheese chocolate candy fruit apple banana salad burger fries rice noodles
gym workout run running yoga swim hike hiking
podcast radio blog article newsletter interview
dinosaur robot zombie ghost dragon wizard alien pirate
wedding party holiday christmas halloween anniversary
selfie meme memes joke jokes drama tea gossip
fixed broke broken lost found stuck
mountain city downtown village country island
""".split()

EN_FUNCTION = """
the a an to and i is this of in for my so just it's that was with on you we be have not but at
all about what when it me are can how your our they from out up more some if really very too
still now then there here been will would one going got get do did does had has i'm i've don't
can't it's that's there's what's he she his her their them us or as by an no yes oh well even
""".split()

EN_HASHTAGS = """
#art #photography #bluesky #caturday #music #gaming #books #writing #dogsofbluesky #science
#nature #politics #movies #football #anime #gardening #food #coffee #birds #poetry #tech
#photo #sky #skyfall #linux #python #opensource #academia #teaching #history
""".split()

PT_CONTENT = """
gente amor jogo música livro filme notícia cidade noite amigo amigos família cachorro gato café
comida chuva manhã semana foto vídeo banda time torcida
feliz aniversário legal lindo linda incrível triste cansado cansada animado finalmente
amanhã ontem hoje assistir jogar ler escrever ouvir cozinhar beber comer dormir andar viajar
pizza cerveja vinho pão bolo feijão arroz almoço jantar lanche
trabalho chefe escritório reunião prova escola professor aluno faculdade
médico hospital saúde gripe dor celular computador aplicativo internet bateria
futebol flamengo palmeiras corinthians jogador técnico gol vitória derrota campeonato
série episódio novela ator atriz diretor personagem
livros romance autor capítulo biblioteca poesia quadrinhos
show turnê guitarra violão cantor cantora letra samba funk pagode
arte artista desenho pintura fotografia câmera
pôr sol céu lua estrelas mar praia rio montanha floresta parque
verão inverno calor frio vento tempestade
cachorros gatos passarinho cavalo galinha
casa apartamento cozinha quarto sofá cama janela rua bairro
carro ônibus metrô bicicleta avião aeroporto voo passagem viagem férias hotel
dinheiro aluguel contas imposto preço mercado compras promoção
política eleição governo presidente congresso senado tribunal lei
clima planeta ciência pesquisa dados espaço foguete
crianças bebê mãe pai irmã irmão esposa marido vovó
camisa tênis jaqueta chapéu vestido óculos
vibe humor energia coração alma saudade
fofo fofa maravilhoso maravilhosa caótico gostoso doce salgado picante
ideia pergunta resposta problema motivo sonho plano
minutos horas mês meses tarde
azul vermelho verde amarelo roxo rosa preto branco laranja
queijo chocolate doce fruta maçã banana salada hambúrguer batata macarrão
academia treino corrida yoga natação trilha
podcast rádio blog artigo entrevista
casamento festa feriado natal aniversário
meme memes piada fofoca
""".split()

PT_FUNCTION = """
o a os as um uma de do da dos das em no na nos nas para por com que e é eu você ele ela nós eles
mas se não muito mais já ainda só também isso esse essa este esta meu minha seu sua foi está
tá vai ser ter tem tinha quando como onde porque então aqui lá
""".split()

PT_HASHTAGS = "#brasil #futebol #musica #arte #fotografia #livros #bomdia #gatos".split()

ES_CONTENT = """
gente amor juego música libro película noticia ciudad noche amigo amigos familia perro gato café
comida lluvia mañana semana foto vídeo canción banda equipo afición
feliz cumpleaños genial bonito bonita increíble triste cansado cansada emocionado
ayer hoy jugar leer escribir escuchar cocinar beber comer dormir caminar viajar
pizza cerveza vino pan pastel tortilla paella tacos almuerzo cena desayuno merienda
trabajo jefe oficina reunión examen escuela profesor alumno universidad
médico hospital salud gripe dolor móvil ordenador computadora aplicación internet batería
fútbol madrid barcelona jugador entrenador gol victoria derrota liga
serie episodio telenovela actor actriz director personaje
libros novela autor capítulo biblioteca poesía cómic
concierto gira guitarra cantante letra reggaetón flamenco salsa
arte artista dibujo pintura fotografía cámara
atardecer cielo luna estrellas mar playa río montaña bosque parque
verano invierno calor frío viento tormenta
perros gatos pájaro caballo gallina
casa piso cocina habitación sofá cama ventana calle barrio
coche autobús metro bicicleta avión aeropuerto vuelo billete viaje vacaciones hotel
dinero alquiler facturas impuestos precio mercado compras oferta
política elecciones gobierno presidente congreso senado tribunal ley
clima planeta ciencia investigación datos espacio cohete
niños bebé mamá papá hermana hermano esposa marido abuela
camisa zapatillas chaqueta sombrero vestido gafas
energía corazón alma ánimo
precioso preciosa maravilloso caótico rico dulce salado picante
idea pregunta respuesta problema razón sueño plan
minutos horas mes meses tarde
azul rojo verde amarillo morado rosa negro blanco naranja
queso chocolate fruta manzana plátano ensalada hamburguesa patatas arroz
gimnasio entrenamiento correr yoga natación senderismo
podcast radio blog artículo entrevista
boda fiesta feriado navidad aniversario
meme memes chiste cotilleo
""".split()

ES_FUNCTION = """
el la los las un una de del en para por con que y es yo tú él ella nosotros ellos pero si no muy
más ya todavía solo también eso ese esa este esta mi tu su fue está va ser tener tiene cuando
como donde porque entonces aquí allí lo al me te se
""".split()

ES_HASHTAGS = "#fútbol #música #arte #fotografía #libros #buenosdías #gatos #españa".split()

DE_CONTENT = """
leute liebe spiel musik buch film nachrichten stadt nacht freund freunde familie hund katze kaffee
essen regen morgen woche wochenende foto video lied band mannschaft fans
glücklich geburtstag toll schön super traurig müde endlich eigentlich wahrscheinlich
gestern heute spielen lesen schreiben hören kochen trinken schlafen laufen reisen
pizza bier wein brot kuchen suppe brezel frühstück mittagessen abendessen
arbeit chef büro besprechung prüfung schule lehrer student universität
arzt krankenhaus gesundheit erkältung kopfschmerzen handy laptop computer internet akku
fußball bayern dortmund spieler trainer tor sieg niederlage bundesliga
serie folge schauspieler schauspielerin regisseur figur
bücher roman autorin kapitel bibliothek gedicht comic
konzert gitarre klavier sänger sängerin album
kunst künstler zeichnung malerei fotografie kamera
sonnenuntergang himmel mond sterne meer strand fluss berg wald park
sommer winter hitze kälte wind sturm schnee
hunde katzen vogel pferd kuh
wohnung küche schlafzimmer sofa bett fenster straße viertel
auto bus bahn zug fahrrad flugzeug flughafen flug urlaub hotel
geld miete rechnungen steuern preis markt einkaufen angebot
politik wahl regierung kanzler parlament gericht gesetz
klima planet wissenschaft forschung daten weltraum rakete
kinder baby mama papa schwester bruder oma
hemd schuhe jacke mütze brille
energie herz seele laune
gemütlich lecker süß scharf chaotisch
idee frage antwort problem grund traum plan
minuten stunden monat monate abend
blau rot grün gelb lila rosa schwarz weiß
käse schokolade obst apfel banane salat kartoffeln nudeln
training joggen yoga schwimmen wandern
podcast radio blog artikel interview
hochzeit feier feiertag weihnachten
""".split()

DE_FUNCTION = """
der die das ein eine und ist ich du er sie wir ihr es nicht aber mit auf für von zu im in den dem
des so noch schon auch nur sehr mal jetzt heute hier da was wie wenn weil dass mein meine hat
habe war sind sein kann wird
""".split()

DE_HASHTAGS = "#fußball #musik #kunst #fotografie #bücher #katzen #wandern".split()

FR_CONTENT = """
gens amour jeu musique livre film nouvelles ville nuit ami amis famille chien chat café repas
pluie matin semaine photo vidéo chanson groupe équipe supporters heureux anniversaire génial
magnifique triste fatigué enfin demain hier jouer lire écrire écouter cuisiner boire manger
dormir marcher voyager pizza bière vin pain gâteau fromage déjeuner dîner travail patron bureau
réunion examen école professeur étudiant université médecin hôpital santé téléphone ordinateur
football joueur entraîneur but victoire défaite série épisode acteur actrice roman auteur
bibliothèque poésie concert guitare chanteur chanteuse art artiste dessin peinture coucher
soleil ciel lune étoiles mer plage rivière montagne forêt parc été hiver chaleur froid vent
orage chiens chats oiseau cheval maison appartement cuisine chambre canapé lit fenêtre rue
voiture bus métro vélo avion aéroport vol vacances hôtel argent loyer impôts prix marché
politique élection gouvernement président assemblée tribunal loi climat planète science
recherche enfants bébé maman papa sœur frère
""".split()

FR_FUNCTION = """
le la les un une de du des en pour par avec que et est je tu il elle nous vous ils mais si ne pas
très plus déjà encore aussi ce cette mon ma son sa était va être avoir quand comme où parce alors
""".split()

KO_CONTENT = """
사람들 사랑 게임 음악 책 영화 뉴스 도시 친구 가족 강아지 고양이 커피 음식 날씨 아침 주말
사진 영상 노래 앨범 팬들 행복 생일 최고 대박 진짜 오늘 내일 어제 드라마 배우 콘서트 여행
비행기 공항 호텔 학교 선생님 회사 월급 축구 야구 선수 경기 라면 치킨 떡볶이 김치
""".split()

KO_FUNCTION = "그리고 그래서 하지만 너무 정말 이 그 저 나 너 우리 것 수 등".split()

JA_NOUNS = """
ラーメン 仕事 会社 電車 天気 映画 音楽 写真 動画 友達 家族 散歩 料理 ご飯 朝ごはん 晩ごはん
お弁当 コーヒー 紅茶 ケーキ お菓子 ビール お酒 週末 休み 旅行 温泉 ホテル 新作 ゲーム 漫画
アニメ 小説 イラスト 配信 ライブ 推し グッズ 声優 曲 歌詞 アルバム 季節 景色 夕焼け 青空 公園
学校 先生 宿題 試験 大学 病院 風邪 薬 携帯 スマホ パソコン アプリ 更新 ネット 動物 ワンコ
ニャンコ 子供 両親 兄弟 姉妹 お母さん お父さん 彼氏 彼女 部屋 掃除 洗濯 買い物 コンビニ
スーパー 値段 お金 給料 家賃 野球 サッカー 試合 選手 応援 優勝 ドラマ 俳優 女優 監督 舞台 劇場
カフェ 喫茶店 パン屋 本屋 図書館 美術館 水族館 動物園 遊園地 ディズニー カラオケ 居酒屋 焼肉
寿司 カレー うどん そば 餃子 唐揚げ お寿司 おにぎり 朝活 筋トレ ジム ヨガ ランニング 睡眠 夢
気分 元気 笑顔 感動 最高 幸せ 大好き 可愛い 綺麗 楽しみ 予定 約束 誕生日 記念日 お祝い プレゼント
東京 大阪 京都 北海道 沖縄 名古屋 福岡 横浜 神戸 新宿 渋谷 池袋 秋葉原 新刊 作品 絵師 作家
""".split()

JA_PARTICLES = "が を で に と の は も".split()

JA_PREDICATES = """
した！ しました 行きたい 食べたい 見たい 楽しかった 疲れた 嬉しい 眠い 最高すぎる かわいい すごい
やばい 美味しかった 頑張ろう 行ってきた 見てきた 食べてきた 買った 届いた 始まった 終わった
よかった なかった 待ってる 来た 寒い 暑い 欲しい です だった かも ですね だよね
""".split()

JA_HASHTAGS = "#イラスト #絵描きさんと繋がりたい #猫 #写真 #ゲーム #今日の空".split()

EMOJI = list("😂🤣❤😭🥺✨🔥🙏😊💀👀🎉🥰😍😅👍💯🙌😎🤔😢😡💕🌸☕🌙⭐🐱🐶🍕🍺🎮🎵📚🌧❄🌈")

#: Handle stems for mentions (``stem.bsky.social`` or a custom domain).
HANDLE_STEMS = """
alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia peggy rupert sybil trent
victor walter yuki kenji sakura hiro ana joao maria lucas sofia mateo lena jonas klara pierre
chloe min jin sora rio nova skye river ember juniper willow atlas orion luna milo ziggy pixel
""".split()

#: Custom-domain handles and link hosts.
DOMAINS = """
example.com nytimes.com theguardian.com bbc.co.uk apnews.com reuters.com github.com youtube.com
substack.com medium.com wikipedia.org npr.org bsky.app lemonde.fr spiegel.de globo.com
elpais.com nhk.or.jp
""".split()

CUSTOM_HANDLE_DOMAINS = "dev social net xyz com io".split()
