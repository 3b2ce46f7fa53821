"""Word lists for the demo data: names, help-desk phrases and a vocabulary of a few thousand words.

Written by hand because no fake-data library is a dependency. The vocabulary is ordered so that
`vocabulary()` can weight it by rank (Zipf): function words first, content words after them in a
fixed shuffled order, so full-text search sees the skewed term frequencies of real mail.
"""

from __future__ import annotations

import random

FIRST_NAMES = """
James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard Susan
Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Margaret
Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin
Amanda Brian Dorothy George Melissa Timothy Deborah Ronald Stephanie Edward Rebecca Jason Sharon Jeffrey
Laura Ryan Cynthia Jacob Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda
Larry Pamela Justin Emma Scott Nicole Brandon Helen Benjamin Samantha Samuel Katherine Gregory Christine
Alexander Debra Frank Rachel Patrick Carolyn Raymond Janet Jack Catherine Dennis Maria Jerry Heather
Tyler Diane Aaron Ruth Jose Julie Adam Olivia Nathan Joyce Henry Virginia Douglas Victoria Zachary Kelly
Peter Lauren Kyle Christina Noah Joan Ethan Evelyn Jeremy Judith Walter Megan Christian Andrea Keith
Cheryl Roger Hannah Terry Jacqueline Austin Martha Sean Gloria Gerald Teresa Carl Ann Harold Sara Dylan
Madison Arthur Frances Lawrence Kathryn Jordan Janice Jesse Jean Bryan Abigail Billy Alice Bruce Judy
Gabriel Sophia Joe Grace Logan Denise Alan Amber Juan Doris Albert Marilyn Willie Danielle Elijah Beverly
Wayne Isabella Randy Theresa Vincent Diana Mason Natalie Roy Brittany Ralph Charlotte Bobby Marie Russell
Kayla Bradley Alexis Philip Lori Eugene Priya Arjun Ananya Rohan Wei Mei Hiroshi Yuki Sakura Kenji Chen
Li Min Jun Seo-yeon Ji-ho Ahmed Fatima Omar Layla Yusuf Amira Mateo Sofia Santiago Valentina Lucas Camila
Léa Hugo Chloé Louis Zoë Noé Björn Astrid Lars Ingrid Søren Freja Mikael Elin Nikolai Anastasia Dmitri
Olga Kwame Ama Chidi Ngozi Tariq Nadia Ravi Sunita Tomás Inés Joaquín Lucía Matteo Giulia Francesco
Chiara Pieter Anouk Jens Mette Siobhan Cian Aoife Oisín Malia Keanu Leilani Tane Aroha
"""

LAST_NAMES = """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson
Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis
Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall
Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes
Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard
Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price
Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell
Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton
Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar
Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells
Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez
Silva Shaw Snyder Mason Dixon Muñoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone
Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan
Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley
Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry
Perkins Hoffman Johnston Matthews Peña Richards Contreras Willis Carpenter Lawrence Sandoval Sharma Gupta
Singh Kumar Tanaka Suzuki Sato Watanabe Yamamoto Wang Zhang Liu Yang Huang Zhao Park Choi Jung Kang
Haddad Khalil Nasser Rahman Hussain Okafor Mensah Adeyemi Dubois Lefèvre Moreau Laurent Müller Schneider
Fischer Weber Becker Lindqvist Johansson Nilsson Eriksson Larsen Jensen Nielsen Novak Kowalski Nowak
Rossi Russo Ferrari Esposito Bianchi Romano Costa Oliveira Pereira Almeida Ferreira O'Brien O'Connor
Byrne Doyle Walsh McCarthy Kealoha Ngata
"""

COMPANIES = """
Northwind Contoso Globex Initech Umbrella Hooli Vandelay Acme Wayfarer Stark Wonka Soylent Cyberdyne
Tyrell Aperture Gringotts Oscorp Monarch Dunder Bluth Pied Sterling Prestige Massive Vehement Nakatomi
Virtucon Wernham Duff Gekko Krusty Ollivander Paper Rekall Spacely Strickland Tricell Yoyodyne Zorg
Bellwether Copperleaf Driftwood Evergreen Foxglove Greenfield Harborview Ironwood Juniper Kestrel
Lakeside Meridian Northstar Oakridge Pinecrest Quarry Riverbend Silverline Timberline Upland Vista
Willowbrook Yellowstone Zenith Brightwater Clearpath Deepwell
"""

COMPANY_SUFFIXES = ("", " Inc", " Ltd", " Group", " Labs", " & Co", " GmbH", " LLC")

# Reserved names (RFC 2606/6761): nothing generated here can ever reach a real mailbox.
FREE_MAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example", "inbox.example")

JOB_TITLES = """
Office Manager|Founder|CEO|CTO|Operations Lead|Accountant|Marketing Manager|Developer|Designer|
Store Owner|Product Manager|Purchasing Agent|Teacher|Consultant|Engineer|Nurse|Project Manager|
Sales Director|Customer Success Manager|IT Administrator|Researcher|Freelancer|Student|Analyst|
Head of Finance|Editor|Photographer|Architect|Chef|Logistics Coordinator
"""

LOCATIONS = """
New York, NY|San Francisco, CA|Austin, TX|Chicago, IL|Seattle, WA|Boston, MA|Denver, CO|Atlanta, GA|
Portland, OR|Miami, FL|Toronto, ON|Vancouver, BC|Montréal, QC|London, UK|Manchester, UK|Dublin, IE|
Paris, FR|Lyon, FR|Berlin, DE|Munich, DE|Amsterdam, NL|Stockholm, SE|Copenhagen, DK|Oslo, NO|
Madrid, ES|Barcelona, ES|Lisbon, PT|Rome, IT|Milan, IT|Warsaw, PL|Prague, CZ|Vienna, AT|Zürich, CH|
Tokyo, JP|Osaka, JP|Seoul, KR|Singapore|Sydney, AU|Melbourne, AU|Auckland, NZ|Bengaluru, IN|Mumbai, IN|
São Paulo, BR|Buenos Aires, AR|Mexico City, MX|Cape Town, ZA|Lagos, NG|Nairobi, KE|Cairo, EG|Dubai, AE
"""

TIMEZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Asia/Tokyo",
    "Australia/Sydney",
    "UTC",
)

MAILBOX_NAMES = (
    "Support",
    "Billing",
    "Sales",
    "Returns",
    "Partnerships",
    "Technical",
    "Onboarding",
    "Press",
    "Careers",
    "Security",
    "Wholesale",
    "Feedback",
)

# By expected popularity: the generator draws them with Zipf weights in this order.
TAG_NAMES = """
billing refund bug feature-request password-reset vip shipping invoice login urgent onboarding
account cancellation upgrade integration api mobile-app outage feedback pricing returns discount
security data-export enterprise trial sso webhook performance email-delivery reporting translation
accessibility gdpr partner press wholesale damaged-item late-delivery exchange gift-card subscription
tax duplicate-charge chargeback beta ios android windows mac chrome firefox safari edge import csv
calendar notifications permissions two-factor spam-report training documentation renewal nonprofit
education startup churn-risk upsell happy-customer escalated needs-followup waiting-on-engineering
known-issue workaround-sent survey holiday-rush black-friday migration
"""

TAG_COLORS = ("#F0BB1D", "#E85649", "#3CB878", "#2E9CCA", "#8E6FD8", "#F28E2C")

SAVED_REPLIES = (
    (
        "Refund issued",
        "I have issued a full refund to your original payment method. "
        "It can take 5-10 business days to appear.",
    ),
    (
        "Password reset steps",
        "You can reset your password from the sign-in page: "
        "click Forgot password and follow the link we email you.",
    ),
    (
        "Invoice copy",
        "I have attached a copy of your invoice. You can also download every invoice from Settings, Billing.",
    ),
    (
        "Shipping times",
        "Orders ship within two business days. Standard delivery takes 3-5 days, express 1-2 days.",
    ),
    (
        "Bug acknowledged",
        "Thanks for the detailed report! I have passed it on to our engineers "
        "and will update you as soon as we hear back.",
    ),
    (
        "Feature request logged",
        "Thanks for the suggestion. I have added your vote to this feature "
        "request so our product team sees it.",
    ),
    (
        "Cancellation confirmed",
        "Your subscription has been cancelled. You keep access until the end of the current billing period.",
    ),
    (
        "Two-factor help",
        "If you lost your second factor, reply from the account email address "
        "and we will verify your identity.",
    ),
    (
        "Return label",
        "Here is your prepaid return label. Please pack the item securely and drop it off within 14 days.",
    ),
    (
        "Plan upgrade",
        "You can upgrade at any time from Settings, Plan. The difference is prorated on your next invoice.",
    ),
    (
        "Closing the loop",
        "I am closing this conversation for now. Just reply to this email if anything else comes up.",
    ),
    (
        "Data export",
        "You can export all of your data as CSV from Settings, Export. Large exports are emailed when ready.",
    ),
)

WORKFLOWS = (
    ("Escalate to tier 2", "manual"),
    ("Mark as VIP", "manual"),
    ("Send satisfaction survey", "manual"),
    ("Forward to engineering", "manual"),
    ("Tag and close as spam", "manual"),
    ("Auto-tag billing questions", "automatic"),
    ("Close after 7 days pending", "automatic"),
)

PRIORITY_OPTIONS = ("Low", "Normal", "High", "Urgent")
PRODUCT_VERSIONS = ("1.8.2", "2.0.0", "2.0.1", "2.1.0", "2.2.3", "3.0.0-beta", "3.0.1", "3.1.4")

GREETINGS_CUSTOMER = (
    "Hi,",
    "Hello,",
    "Hi there,",
    "Hey team,",
    "Good morning,",
    "Hello support,",
    "Dear support team,",
)
SIGNOFFS_CUSTOMER = ("Thanks,", "Thank you,", "Best,", "Cheers,", "Regards,", "Kind regards,", "Many thanks,")
SIGNOFFS_AGENT = ("Best,", "Cheers,", "Kind regards,", "All the best,", "Thanks,", "Have a great day,")

CUSTOMER_SENTENCES = (
    "I was charged twice for my last order and would like a refund for the duplicate payment.",
    "Could you send me a copy of the invoice for last month?",
    "I tried the password reset link but it says the link has expired.",
    "My package still has not arrived and the tracking page has not changed in a week.",
    "The app crashes every time I open the reports page on my phone.",
    "Is there a discount for annual billing or for nonprofits?",
    "I would like to cancel my subscription at the end of this billing period.",
    "We need to add three more seats to our team account.",
    "The export to CSV only contains the first hundred rows.",
    "I cannot log in since I turned on two-factor authentication.",
    "The item arrived damaged, the box was crushed on one side.",
    "Can I change the shipping address on an order that has not shipped yet?",
    "Our webhook stopped receiving events yesterday afternoon.",
    "Is it possible to get a refund if I downgrade in the middle of the month?",
    "The invoice shows the wrong company name and VAT number.",
    "We are evaluating your product for our whole department and have a few questions about pricing.",
    "Your latest update removed the dark mode setting, was that on purpose?",
    "I received an email saying my card was declined but my bank says everything is fine.",
    "The integration with our calendar keeps asking me to sign in again.",
    "Where can I find the API documentation for the new endpoints?",
    "I ordered the wrong size and would like to exchange it.",
    "Please delete my account and all the data you hold about me.",
    "The page loads very slowly for everyone in our office since this morning.",
    "I think there is a bug in the way totals are rounded on the invoice.",
    "Do you offer a free trial of the enterprise plan?",
    "My gift card code is not accepted at checkout.",
    "We were promised a call back last week but nobody reached out.",
    "Thanks so much, that fixed it!",
    "That worked, you can close this ticket.",
    "I am still seeing the same error after clearing the cache.",
    "Could you check whether my refund has been processed?",
    "Attached is a screenshot of the error message.",
    "Sorry to bother you again about this.",
    "This is quite urgent because our launch is on Monday.",
)

AGENT_SENTENCES = (
    "Thanks for reaching out and sorry for the trouble.",
    "I have looked into your account and can see what happened.",
    "I have issued a refund for the duplicate charge, it should show up within a few days.",
    "I have attached a fresh copy of the invoice with the corrected details.",
    "Could you send us a screenshot of the error and the browser you are using?",
    "I have sent you a new password reset link that is valid for 24 hours.",
    "Our engineers are aware of the issue and are working on a fix.",
    "The fix has been deployed, could you try again and let me know?",
    "I have updated the shipping address on your order.",
    "Your subscription will stay active until the end of the billing period.",
    "I have added three seats to your plan and prorated the difference.",
    "You can find the setting under Settings, then Preferences.",
    "I have passed your feedback on to our product team.",
    "As a workaround, you can export the report in smaller date ranges.",
    "I have escalated this to our tier 2 team who will follow up shortly.",
    "Let me know if there is anything else I can help with.",
    "I am going to close this conversation for now, but just reply if you need anything.",
    "Happy to help!",
    "Thanks for your patience while we looked into this.",
    "Please allow 5 to 10 business days for the refund to appear on your statement.",
)

RARE_SENTENCE = "What a beautiful day it is over here."

SUBJECT_TEMPLATES = (
    "Refund for order {n}",
    "Question about my invoice",
    "Invoice {n} has the wrong address",
    "Password reset not working",
    "Can't log in to my account",
    "Double charged this month",
    "Where is my order {n}?",
    "Package arrived damaged",
    "Cancel my subscription please",
    "Upgrade to the {plan} plan",
    "Pricing for the {plan} plan",
    "Bug in the reports page",
    "App crashes on startup",
    "Feature request: dark mode",
    "Feature request: bulk export",
    "Webhook events not delivered",
    "API rate limit question",
    "Two-factor authentication locked me out",
    "Change shipping address for order {n}",
    "Exchange for a different size",
    "Gift card not accepted",
    "Discount for nonprofits?",
    "Need a copy of receipt {n}",
    "Slow loading since this morning",
    "Data export request",
    "Please delete my account",
    "Follow up on my previous email",
    "Urgent: checkout is broken",
    "Partnership opportunity for your team",
    "Interview request from the press",
    "Wholesale pricing enquiry",
    "Trial extension request",
    "SSO setup with our identity provider",
    "Missing items in my order",
    "Wrong VAT number on invoice",
)

PLANS = ("Starter", "Basic", "Plus", "Pro", "Business", "Enterprise")

EMAIL_PLUS_TAGS = ("orders", "billing", "support", "news", "shop", "work")

ATTACHMENT_NAMES = (
    ("screenshot.png", "image/png"),
    ("error-screenshot.png", "image/png"),
    ("error.log", "text/plain"),
    ("order-details.csv", "text/csv"),
    ("notes.txt", "text/plain"),
)

# One transparent pixel: a valid PNG, so attachment downloads open in any viewer.
PNG_PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)

FUNCTION_WORDS = """
the to i and a you of it is for that in my we on this have be with can not your me
are but if so do at as just was our will or all there an from please would what it's
us thanks could get any also know by been when one they about up out them has now some
need which more how should here then their like had were did does these him her he she
its than into only over after before because those who why very other still same again
each few most both own such off down while where until through against between during
"""

CONTENT_WORDS = (
    """
account order refund invoice payment charge card password login email message reply team support
help issue problem question error update help customer service product price plan subscription
billing shipping delivery package tracking address number time day week month year today tomorrow
yesterday morning afternoon evening night hour minute second moment date calendar schedule meeting
call phone chat website page app application browser mobile desktop computer laptop tablet screen
button link click download upload file document report export import data list table chart graph
setting settings option feature version release update upgrade downgrade install uninstall restart
reset change edit delete remove add create save cancel submit send receive open close start stop
work works working worked try tried trying use used using user users admin owner member members
access permission role login logout sign signed signing register registration verify verification
code token key secret api webhook integration sync connect connection network server database cloud
storage backup restore copy paste text image photo picture video audio sound music voice camera
print printer scan scanner paper label box item items product products stock inventory warehouse
store shop cart checkout coupon discount sale offer deal gift voucher credit debit bank transfer
balance amount total fee fees tax vat currency dollar euro pound cost costs budget quote estimate
contract agreement terms policy privacy security safe secure risk fraud scam spam virus malware
alert warning notice notification reminder confirmation receipt statement record history log logs
status state stage step process procedure method approach solution answer result outcome reason
cause effect impact difference detail details information info note notes comment comments review
feedback suggestion idea request requests requirement requirements need needs want wants expect
expected expecting hope hoping wish thank thanks appreciate sorry apologize apology understand
explain explained clarify confirm confirmed check checked checking look looked looking see saw seen
find found search searched show showed shown display displayed appear appeared seem seemed happen
happened happening occur occurred fix fixed fixing solve solved resolve resolved handle handled
manage managed support supported supporting assist assisted guide guided recommend recommended
advise advised inform informed notify notified contact contacted reach reached respond responded
response answer answered ask asked asking tell told say said mention mentioned write wrote written
read reading call called calling wait waited waiting arrive arrived arriving deliver delivered
ship shipped shipping return returned returning exchange exchanged replace replaced replacement
repair repaired damage damaged broken break breaks crash crashed crashing freeze frozen slow fast
quick quickly soon later early late delay delayed delays missing lost wrong right correct incorrect
invalid valid available unavailable possible impossible easy difficult hard simple complex clear
unclear good great excellent perfect fine okay bad poor terrible awful nice happy unhappy glad
pleased satisfied disappointed frustrated confused worried concerned urgent important critical
major minor small large big huge tiny long short full empty new old current previous next last
first second third final main primary secondary extra additional other another different similar
same whole entire single double multiple several many much few little less least more most every
each either neither both all none something anything nothing everything someone anyone nobody
everyone somewhere anywhere nowhere everywhere always never sometimes often usually rarely already
yet still even ever just almost nearly quite rather really actually certainly definitely probably
maybe perhaps likely unlikely exactly approximately about around above below under behind beside
near far inside outside within without across along among toward towards beyond despite unless
although though however therefore otherwise instead meanwhile furthermore moreover besides anyway
company business office department manager director employee staff colleague client partner vendor
supplier reseller agency organization school university student teacher course class lesson training
tutorial guide manual documentation article blog post newsletter campaign marketing sales lead
prospect demo trial pilot proposal presentation slide deck spreadsheet template form field value
column row cell sheet folder drive disk memory cpu battery charger cable adapter device hardware
software firmware driver plugin extension addon module component library framework platform system
environment production staging test testing tested debug debugging bug bugs defect glitch outage
downtime maintenance incident ticket case queue priority escalation escalate escalated tier level
region country city state street postcode zip home house apartment building floor room door window
kitchen garden car truck bike train plane flight airport hotel booking reservation travel trip
holiday vacation weekend monday tuesday wednesday thursday friday saturday sunday january february
march april may june july august september october november december spring summer autumn winter
weather rain snow sun wind storm cold warm hot cool dry wet light dark color colour red blue green
yellow black white gray grey orange purple pink brown gold silver size small medium large fit style
shirt shoes jacket dress pants jeans hat bag wallet watch ring necklace glasses coffee tea milk
water juice food lunch dinner breakfast snack recipe ingredient kitchenware furniture chair desk
lamp bed sofa shelf mirror rug blanket pillow towel soap shampoo cream lotion vitamin medicine
health doctor appointment insurance claim policyholder premium coverage deductible benefit benefits
salary payroll invoice invoices billing statement statements reconciliation ledger accounting
audit compliance regulation gdpr consent cookie cookies tracking analytics metrics dashboard kpi
goal target growth revenue profit loss margin forecast quarter annual monthly weekly daily hourly
version versions beta alpha stable legacy deprecated migration migrate migrated upgrade upgraded
performance speed latency timeout timeouts retry retries limit limits quota usage capacity scale
scaling load traffic request response header body payload json xml csv pdf zip png jpg gif svg
link links url domain dns ssl certificate https redirect proxy firewall vpn wifi router bluetooth
keyboard mouse monitor speaker headphones microphone webcam charger port usb hdmi ethernet
android iphone ipad mac windows linux chrome firefox safari edge outlook gmail slack zoom teams
calendar contacts tasks projects boards cards lists labels tags filters views workspace workspaces
profile avatar username nickname display name first last full middle title position job career
hire hiring interview candidate resume application applications offer offers onboarding offboarding
welcome introduction overview summary conclusion appendix attachment attachments screenshot
screenshots recording transcript caption subtitle translation language english spanish french
german italian portuguese japanese chinese korean arabic russian dutch swedish polish turkish hindi
question questions answer answers concern concerns complaint complaints compliment praise review
reviews rating ratings star stars score scores survey surveys poll results response responses
community forum thread topic discussion conversation conversations message messages inbox outbox
draft drafts sent archive archived trash deleted restored recovered recovery lock locked unlock
blocked block unblock ban banned suspend suspended reactivate reactivated activate activated
deactivate deactivated enable enabled disable disabled turn turned switch switched toggle
default custom preference preferences configuration configure configured setup installation
instructions steps walkthrough checklist overview faq knowledge base help center self service
portal widget beacon live agent agents operator representative specialist expert engineer developer
designer analyst consultant advisor coordinator assistant supervisor lead head chief officer
president founder owner customer customers client clients buyer buyers seller sellers merchant
merchants retailer retailers wholesale wholesaler distributor distributors manufacturer factory
shipment shipments courier carrier postal post mail parcel parcels pallet freight customs duty
duties import export border clearance tracking number estimate estimated arrival dispatch
dispatched fulfilled fulfillment picked packed packing label labels barcode sku stock backorder
preorder restock restocked sold soldout available availability wishlist favorite favourites
bookmark bookmarks history recent popular trending featured recommended related similar
alternative alternatives option options choice choices decision decide decided plan plans planned
planning strategy roadmap milestone deadline deadlines launch launched launching announcement
announce announced press media news article interview podcast webinar event events conference
workshop meetup session sessions ticket tickets seat seats venue speaker speakers sponsor sponsors
partner partners partnership affiliate affiliates referral referrals commission commissions
payout payouts earnings income expense expenses reimbursement receipts mileage travel allowance
"""
    + """
apple banana cherry grape lemon lime mango melon orange peach pear pineapple plum strawberry
tomato potato carrot onion garlic pepper salt sugar flour butter cheese bread rice pasta noodle
soup salad sandwich pizza burger steak chicken fish shrimp egg eggs bacon sausage chocolate
cookie cake pie candy honey jam cereal yogurt espresso latte cappuccino mocha smoothie
river lake ocean sea beach island mountain hill valley forest desert field meadow park trail
bridge tunnel road highway avenue lane path station harbor port market square plaza tower castle
museum gallery theater cinema library stadium arena church temple school campus hospital clinic
pharmacy bakery butcher grocery supermarket mall boutique salon gym pool court track studio
dog cat bird fish horse cow sheep pig goat chicken duck rabbit mouse bear wolf fox deer lion tiger
elephant monkey giraffe zebra whale dolphin shark turtle frog snake spider bee butterfly ant
tree flower grass leaf leaves branch root seed plant plants garden gardens rose tulip lily daisy
oak pine maple birch willow cedar palm fern moss cactus bamboo ivy lavender mint basil sage thyme
stone rock sand dust mud clay metal iron steel copper bronze glass plastic wood wooden cotton wool
silk leather rubber paper cardboard fabric ceramic concrete brick marble granite crystal diamond
family friend friends neighbor neighbour parent parents mother father brother sister son daughter
child children baby kids husband wife partner cousin uncle aunt grandmother grandfather guest host
birthday wedding anniversary party celebration festival holiday christmas easter thanksgiving
newyear graduation retirement promotion baby shower housewarming farewell reunion picnic barbecue
music song songs album band concert guitar piano drums violin singer dance dancing movie movies
film series episode season show shows book books novel story stories poem poetry art painting
drawing sketch sculpture photo photos photography design designs fashion style trend trends
game games sport sports football soccer basketball baseball tennis golf hockey rugby cricket
running cycling swimming hiking skiing surfing climbing yoga fitness workout exercise training
"""
    + """
accept accepted accepting achieve achieved acquire act action actions active activity actual adapt
adjust adjusted adjustment admit adopt advance advanced advantage adventure affect afford afraid
agenda aggregate agree agreed ahead aim alarm alert align allocate allow allowed alone alter
amend analyse analysis analyze anchor angle announce annoy annoyed annual anticipate apart apparent
appeal applicable apply applied appreciate appreciated approach appropriate approval approve approved
area argue arrange arranged array article artificial aspect assess assessment asset assign assigned
assume assumed attach attached attempt attempted attend attention attitude attract audience
authentic author authority authorize authorized auto automate automated automatic automatically
average avoid award aware awareness awkward background balance bar base based basic basis batch
battle bear beat beautiful become begin beginning behave behavior behaviour belief believe belong
beneath benefit best better beyond bid bill binding bit blame blank blend bless blind blog blow
board bold bond bonus boost border bother bottom bound boundary brand brave breach breath brief
briefly bright brilliant bring broad brought budget build building built bulk bunch burden burn
busy buy cabinet calculate calculated calculation call calm campaign candidate capable capital
capture care careful carefully carry cash catalog catalogue catch category caught cell center
central century certain certificate chain challenge chance channel chapter character charge
charged charges cheap check cheer choose chose chosen circle circumstance cite claim clarity
classic clean cleaning clearly clever climate clock cloud club cluster coach coast code collapse
collect collection combine combined comfort comfortable command commercial commit commitment common
communicate communication compact compare compared comparison compatible compensate compensation
compete competitor complain complete completed completely complex complicated comply compose
comprehensive compromise concept conclude condition conditions conduct confidence confident
conflict confuse confusing congratulations consider considered consistent constant construct
consult consume consumer contain content context continue continued contribute control convenient
convert convince cooperate coordinate core corner corporate correction correctly corrupt corrupted
count counter couple courage cover covered crack craft crazy credit crew crisis criteria critical
crowd crucial culture curious currently custom cut cycle daily damage danger dare deal dear debate
debt decade declare decline decrease dedicated deep default defend define definite degree deliver
demand demonstrate deny depend deposit describe description deserve desire despite destroy detect
determine develop developed development dialog dialogue digital direct direction directly disagree
disappear discover discovered discuss discussed dismiss dispute distance distinct divide document
documents domestic dominate donate doubt draft drag dramatic draw dream drive driven drop dropped
due duplicate duplicated duration dynamic eager earn ease easily economic edge edition effective
efficient effort elect element eliminate embrace emerge emergency emotion emphasis employ enable
encounter encourage endless endorse energy engage engine enhance enjoy enormous ensure enter
entry equal equipment error errors escape essential establish evaluate evaluation evidence evolve
exact examine example exceed exception excess excited exciting exclude exclusive excuse execute
exist existing expand expansion expensive experience experienced experiment expert expire expired
expiry explain explore expose express extend extended extension extent external extra extreme
"""
    + """
fabulous face facility fact factor fail failed failing failure fair faith fall false familiar
famous fancy fantastic fault favor favour fear feature featured federal feed feel feeling fellow
figure fill filled filter final finally finance financial fine finish finished fire firm fit fix
flag flat flexible flight flip float flow focus fold follow followed following force foreign forget
forgot forgotten forgive formal format former fortune forward foundation frame free freedom
frequent fresh fruit fuel fulfil fun function fund fundamental funny future gain gap gather gear
general generate generous gentle genuine gesture giant given glad global glue goal golden govern
grab grade gradually grand grant grateful gratitude greatly ground group grow guarantee guess
guidance habit half handy hang harm headline heal hear heard heart heat heavy height hero hidden
hide highlight highly hint hire hit hold holder hole honest honor honour hook horizon horrible
huge human humble hunt hurry hurt ideal identify identity ignore illegal image imagine immediate
immediately implement imply impose impress impression improve improved improvement include
included including income increase incredible indeed independent index indicate individual industry
influence inform initial initiative injury innovation input insight insist inspect inspire instance
instant instead institution insure intend intention interest interested interesting internal
interpret interrupt introduce invest investigate investigation invite invited involve involved
isolated issue issued issues item join joint journal journey judge jump junior justify keen keep
kept kind kindly knock knowledge label lack land landing large largely laser launch layer layout
lead leader learn learned leave legal lend length lesson letter liability license lifetime lift
likely limited line linked liquid listen literally load loan local locate location logic logical
loose lose loyal loyalty luck lucky machine magic mainly maintain major majority make maker
manner manual map margin mark marked master match material matter maximum meaning measure mechanism
medium member memory mention mentioned merge merit mess method middle mild mind minimum mirror
mission mistake mistaken mix mixed mobile mode model moderate modern modest modify moment momentum
monitor mood motion motivate mount move moved movement multiple mutual mystery narrow nation native
natural nature navigate necessary negative negotiate nervous net neutral nice normal normally
notable notice noticed novel numerous object objective obligation observe obtain obvious
obviously occasion odd offer offered official ongoing online opening operate operation opinion
opportunity oppose opposite optimal optimistic oral ordinary organic organize original outcome
output overall overcome overlook owe pace pack pair panel panic parallel parameter part particular
particularly pass passion past patch patience patient pattern pause peak peer penalty pending
percent perfectly perform period permanent permit persist person personal personally perspective
phase phrase physical pick piece pilot pioneer pitch place plain platform pleasant pleasure plenty
plus pocket point pointed polish polite political pool popular portion positive possess possibility
potential power powerful practical practice praise precise predict prefer premium prepare prepared
presence present preserve press pressure pretty prevent previously pride primarily principle prior
private prize probable proceed produce professional program progress prohibit promise promote
prompt proof proper properly property proposal propose protect protection proud prove provide
provided provider public publish pull purchase purchased pure purpose pursue push qualify quality
"""
    + """
quantity quiet quote race radical raise random range rank rapid rare rarely rate rather raw reach
react ready real reality realize reason reasonable recall receive received recently recognize
recommend record recover reduce reduced refer reference reflect reform refuse regard regarding
regardless register regret regular regularly reject relate relation relationship relative relax
release relevant reliable relief rely remain remaining remark remarkable remember remind remote
renew rent repeat repeated replace reply represent reputation request require required rescue
research reserve reside resist resolution resource resources respect responsible rest restore
restrict retain retire reveal revenue reverse revise reward rich ride ring rise risk robust role
roll rough round route routine rule rush safety sample satisfy save saved scale scenario scheme
scope screen script seal secure seek select selected selection sell senior sense sensible sensitive
sentence separate sequence serious seriously serve session settle setup severe shape share shared
sharp shift shine shock short shortly shot significant silent silly similar simply sincere sincerely
site situation skill skip slight slightly smart smooth solid solve somewhat sort source space spare
speak special specific specify spend split spot spread square stable staff standard stare statement
steady stick stock storage straight strange strategy strength stress strict strike strong
structure struggle stuff subject submit submitted substantial succeed success successful
successfully sudden suddenly suffer sufficient suggest suggested suit suitable summary superb supply
suppose sure surely surface surprise surprised surround survive suspect sustain swap symbol
sympathy system tackle tailor talent talk target task taste teach technical technique technology
temporary tend tension term terrific theme theory thorough thought threat threshold thrilled
throughout tidy tight tip title tone tool tools topic total touch tough track trade traditional
transfer transform transition translate transparent trap treat treatment trend trial trick trigger
trouble truly trust truth tune twice type typical typically ultimate unable uncertain unexpected
unfortunately unique unit unknown unlike unlimited unusual update upgrade upon upset urge usage
useful usual utility vague valuable variety various vary vast venture verify versus via victim
view viewed visible vision visit visual vital volume voluntary vote wage wander warn warranty waste
watch wave weak wealth wear website weigh welcome whenever whereas whether wide widely wild willing
win wise withdraw witness wonder wonderful word worth worthy wrap yield young zone
"""
)


def names(text: str, sep: str | None = None) -> tuple[str, ...]:
    """Split a block of names, dropping blanks and duplicates but keeping the written order."""
    return tuple(dict.fromkeys(p.strip() for p in text.split(sep) if p.strip()))


def vocabulary() -> list[str]:
    """Words ordered by intended frequency rank: function words, then a fixed shuffle of the rest.

    The shuffle uses its own constant seed, so a word's rank (and so how often `refund` or
    `espresso` shows up) does not change with the demo seed.
    """
    function = list(names(FUNCTION_WORDS))
    seen = set(function)
    content = [w for w in names(CONTENT_WORDS) if w not in seen]
    random.Random(20261122).shuffle(content)
    return function + content
