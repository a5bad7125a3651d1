"""Every word the console shows, in one catalog per language; templates and code look them up
by key (`text`). Russian is the clerks' language and the only one so far: another language is
another dictionary with the same keys (`tests/console/test_console_catalog.py` checks that
every key the templates and the code use exists).

Values are `str.format` templates: `{name}` is filled from the lookup's arguments.
"""

from __future__ import annotations

from collections.abc import Mapping

LANGUAGE = "ru"

RU: Mapping[str, str] = {
    # The frame of every page.
    "app.name": "Консоль сотрудника центра обслуживания",
    "app.skip": "Перейти к основному содержанию",
    "app.title": "{page} — Консоль МФЦ",
    "nav.label": "Разделы консоли",
    "nav.search": "Поиск заявителя",
    "nav.counter": "Регистрация",
    "nav.day": "Мой день",
    "nav.signed_in": "{name} · центр {center}",
    "nav.sign_out": "Выйти",
    "form.errors": "Исправьте ошибки",
    "form.error_prefix": "Ошибка:",
    # Signing in.
    "sign_in.title": "Вход для сотрудников",
    "sign_in.intro": "Войдите с логином, паролем и кодом из приложения-аутентификатора.",
    "sign_in.login": "Логин",
    "sign_in.password": "Пароль",
    "sign_in.code": "Код из приложения",
    "sign_in.code_hint": "6 цифр. Код меняется каждые 30 секунд.",
    "sign_in.submit": "Войти",
    "sign_in.refused": (
        "Войти не удалось. Проверьте логин, пароль и код из приложения. После {failures} "
        "неудачных попыток подряд вход блокируется на {minutes} минут."
    ),
    "sign_in.refused_field": "Проверьте логин, пароль и код",
    "sign_in.expired": (
        "Сеанс завершён: вы долго не работали или истекло время сеанса. Войдите снова."
    ),
    "sign_in.signed_out": "Вы вышли из консоли.",
    # Finding a person.
    "search.title": "Поиск заявителя",
    "search.intro": (
        "Найдите гражданина, который ожидает подтверждения личности, по одному из документов."
    ),
    "search.by_snils": "По СНИЛС",
    "search.by_phone": "По номеру телефона",
    "search.by_passport": "По паспорту",
    "search.submit": "Найти",
    "search.found": "Найдено заявок: {count}",
    "search.none": "Никто не ожидает подтверждения личности по этим данным.",
    "search.created": "Заявка от",
    # Fields of documents, in the search and the confirmation.
    "field.snils": "СНИЛС",
    "field.snils_hint": "11 цифр, например 112-233-445 95",
    "field.phone": "Номер мобильного телефона",
    "field.phone_hint": "Например +7 916 123-45-67",
    "field.passport_series": "Серия паспорта",
    "field.passport_series_hint": "4 цифры",
    "field.passport_number": "Номер паспорта",
    "field.passport_number_hint": "6 цифр",
    # A registration.
    "card.title": "Подтверждение личности",
    "card.person": "Заявитель",
    "card.full_name": "ФИО",
    "card.birth_date": "Дата рождения",
    "card.passport": "Паспорт",
    "card.snils": "СНИЛС",
    "card.contact": "Контакт",
    "card.registration": "Номер заявки",
    "card.state": "Состояние",
    "card.ending": "оканчивается на {ending}",
    "card.no_profile": "Данные профиля недоступны",
    "state.awaiting": "Ожидает подтверждения личности",
    "state.confirmed": "Личность подтверждена",
    "state.cancelled": "Регистрация отменена",
    "state.expired": "Регистрация истекла",
    "state.refused": "Регистрация отклонена",
    "state.open": "Регистрация не завершена",
    "confirm.title": "Сверьте документы",
    "confirm.intro": (
        "Введите серию и номер паспорта и СНИЛС с документов, которые предъявил гражданин. "
        "Сверку выполняет система; при расхождении вы увидите, какой документ не совпал."
    ),
    "confirm.submit": "Подтвердить личность",
    "verdict.confirmed": (
        "Личность подтверждена. Учётная запись гражданина стала подтверждённой; "
        "гражданин получит уведомление."
    ),
    "verdict.refused": "Личность не подтверждена: {documents} не совпадает с проверенными данными.",
    "verdict.refused_plural": (
        "Личность не подтверждена: {documents} не совпадают с проверенными данными."
    ),
    "verdict.refused_unnamed": "Личность не подтверждена: документы не совпадают.",
    "verdict.check_again": "Проверьте документ и введите данные заново.",
    "verdict.locked": (
        "Слишком много отказов подряд: подтверждение этой заявки заблокировано до {until}."
    ),
    "document.passport_series": "серия паспорта",
    "document.passport_number": "номер паспорта",
    "document.snils": "СНИЛС",
    "document.and": " и ",
    # Registration from scratch at the counter.
    "counter.title": "Регистрация гражданина",
    "counter.intro": (
        "Зарегистрируйте гражданина, у которого нет учётной записи: введите данные с паспорта "
        "и СНИЛС. На телефон гражданина придёт код — гражданин назовёт его вам. Когда ведомства "
        "проверят данные, учётная запись сразу станет подтверждённой."
    ),
    "counter.person": "Гражданин",
    "counter.full_name": "ФИО",
    "counter.surname": "Фамилия",
    "counter.name": "Имя",
    "counter.patronymic": "Отчество",
    "counter.patronymic_hint": "Если есть в паспорте",
    "counter.gender": "Пол",
    "counter.gender.male": "Мужской",
    "counter.gender.female": "Женский",
    "counter.birth": "Рождение",
    "counter.birth_date": "Дата рождения",
    "counter.date_hint": "ДД.ММ.ГГГГ",
    "counter.birth_place": "Место рождения",
    "counter.birth_place_hint": "Как в паспорте",
    "counter.citizenship": "Гражданство",
    "counter.citizenship_hint": (
        "Код страны из трёх латинских букв. Проверяется паспорт гражданина России."
    ),
    "counter.passport": "Паспорт",
    "counter.passport_issue_date": "Дата выдачи паспорта",
    "counter.passport_issuer": "Кем выдан паспорт",
    "counter.division_code": "Код подразделения",
    "counter.division_code_hint": "Например 770-001",
    "counter.contact": "Контакт гражданина",
    "counter.contact_hint": (
        "Телефон или электронная почта. На телефон придёт код в СМС, на почту — письмо со "
        "ссылкой; после проверки туда же придёт ссылка для установки пароля."
    ),
    "counter.email": "Электронная почта",
    "counter.submit": "Зарегистрировать и отправить код",
    "counter.registration": "Номер заявки",
    "counter.state": "Состояние",
    "counter.started": "Начата",
    "counter.no_profile": "Данные профиля недоступны",
    "counter.note.resumed": (
        "Регистрация с этим контактом уже идёт в вашем центре: показано её состояние."
    ),
    "counter.note.code_sent": "Гражданину отправлен новый код.",
    "counter.code.title": "Код подтверждения",
    "counter.code.intro_sms": (
        "Гражданину отправлен код в СМС на номер {contact}. Попросите гражданина назвать код "
        "и введите его."
    ),
    "counter.code.intro_email": (
        "Гражданину отправлено письмо на адрес {contact}. Код — последние 26 знаков ссылки "
        "из письма, после последнего знака «=»: попросите гражданина продиктовать их."
    ),
    "counter.code.expires": "Код действует до {until}.",
    "counter.code.sending": "Код отправляется.",
    "counter.code.attempts": "Осталось попыток ввода: {count}.",
    "counter.code.label_sms": "Код из СМС",
    "counter.code.hint_sms": "6 цифр",
    "counter.code.label_email": "Код из письма",
    "counter.code.hint_email": "26 букв и цифр",
    "counter.code.submit": "Подтвердить код",
    "counter.code.wrong": "Код неверный. Осталось попыток: {count}.",
    "counter.code.burnt": "Код неверный, попытки для этого кода исчерпаны: отправьте новый код.",
    "counter.code.locked": "Слишком много неверных кодов: ввод кода заблокирован до {until}.",
    "counter.new_code.title": "Код не пришёл или истёк?",
    "counter.new_code.after": "Новый код можно отправить после {until}.",
    "counter.new_code.left": "Сегодня можно отправить ещё кодов: {count}.",
    "counter.new_code.submit": "Отправить новый код",
    "counter.checking.title": "Проверка данных в ПФР и МВД…",
    "counter.checking.intro": (
        "Ведомства проверяют СНИЛС и паспорт. Обычно это занимает несколько минут; ответ "
        "придёт не позднее {deadline}."
    ),
    "counter.checking.waiting": "Ожидаются ответы: {agencies}.",
    "counter.checking.notified": (
        "Гражданин получит сообщение, когда проверка закончится; страницу можно закрыть и "
        "вернуться к заявке из раздела «Мой день»."
    ),
    "counter.checking.reload": "Обновить состояние",
    "counter.mismatch.title": "Данные не подтверждены",
    "counter.mismatch.said": "{agency}: {reason}.",
    "counter.mismatch.unnamed": "Ведомство не подтвердило данные: {reason}.",
    "counter.mismatch.todo": (
        "Сверьте данные с документами гражданина, исправьте их и отправьте на проверку снова."
    ),
    "counter.mismatch.submit": "Отправить на проверку",
    "counter.confirmed": (
        "Учётная запись подтверждена; гражданину отправлена ссылка для установки пароля."
    ),
    "counter.confirmed.link": (
        "Ссылка отправлена на {contact} и действует {hours} ч. Пароль гражданин задаёт сам: "
        "сотрудник его не видит и не задаёт."
    ),
    "counter.closed.cancelled": "Регистрация отменена.",
    "counter.closed.expired": (
        "Регистрация истекла: код не был подтверждён вовремя. Начните регистрацию заново."
    ),
    "counter.closed.refused": (
        "Регистрация не завершена: с этим контактом уже создана учётная запись."
    ),
    "counter.another": "Зарегистрировать другого гражданина",
    "counter.in_progress_search": "Найти заявку и подтвердить личность",
    "agency.pension_fund": "ПФР",
    "agency.mvd": "МВД",
    "agency.fns": "ФНС",
    "reason.passport_invalid": (
        "паспорт недействителен (утерян или заменён) или его данные не совпадают"
    ),
    "reason.snils_mismatch": "СНИЛС не принадлежит этому человеку",
    "reason.verification_timeout": "ведомство не ответило в срок; данные можно отправить снова",
    "reason.request_rejected": "ведомство отклонило запрос; проверьте данные",
    "reason.mismatch": "данные не совпали",
    "reason.other": "данные не подтверждены",
    # The day.
    "day.title": "Мой день",
    "day.intro": (
        "Подтверждения личности и регистрации граждан в центре {center} за сегодня, {date}."
    ),
    "day.none": "Сегодня в центре ещё не было подтверждений и регистраций.",
    "day.caption": "Действия за сегодня",
    "day.time": "Время",
    "day.registration": "Заявитель",
    "day.work": "Действие",
    "day.outcome": "Результат",
    "day.who": "Сотрудник",
    "day.work.confirmation": "Подтверждение личности",
    "day.work.registration": "Регистрация в центре",
    "day.outcome.confirmed": "Подтверждено",
    "day.outcome.refused": "Отказано: не совпадает {documents}",
    "day.outcome.refused_unnamed": "Отказано",
    "day.outcome.awaiting_code": "Ожидает код",
    "day.outcome.checking": "Проверка данных",
    "day.outcome.mismatch": "Данные не подтверждены",
    "day.outcome.cancelled": "Отменена",
    "day.outcome.expired": "Истекла",
    "day.outcome.not_registered": "Не зарегистрирован",
    "day.who.me": "Вы",
    "day.who.colleague": "Коллега {clerk}",
    # Field errors, by the rule's code.
    "error.snils.required": "Введите СНИЛС",
    "error.snils.format": "СНИЛС — 11 цифр, в виде 112-233-445 95 или без пробелов",
    "error.snils.checksum": "Контрольное число СНИЛС не сходится: проверьте цифры",
    "error.phone.required": "Введите номер телефона",
    "error.phone.invalid_characters": ("В номере допустимы только цифры, пробелы, дефисы и скобки"),
    "error.phone.country_code": "Номер должен начинаться с +7",
    "error.phone.leading_8": "Номер должен начинаться с +7, а не с 8",
    "error.phone.missing_plus": "Номер должен начинаться с +7",
    "error.phone.length": "После +7 должно быть 10 цифр",
    "error.phone.not_mobile": "Нужен номер мобильного телефона: после +7 идёт 9",
    "error.passport_series.format": "Серия паспорта — 4 цифры",
    "error.passport_series.spaces": "Серия паспорта — 4 цифры",
    "error.passport_number.format": "Номер паспорта — 6 цифр",
    "error.passport_number.spaces": "Номер паспорта — 6 цифр",
    "error.form_id.format": "Форма устарела: откройте страницу заново",
    "error.person_name.required": "Заполните поле",
    "error.person_name.too_long": "Не больше 100 символов",
    "error.person_name.invalid_characters": ("Допустимы только буквы, пробелы, дефисы и апострофы"),
    "error.person_name.mixed_alphabets": "Пишите одним алфавитом: кириллицей или латиницей",
    "error.person_name.first_not_letter": "Должно начинаться с буквы",
    "error.gender.required": "Выберите пол",
    "error.date.required": "Введите дату",
    "error.date.format": "Введите дату в виде ДД.ММ.ГГГГ, например 15.05.1990",
    "error.birth_date.in_future": "Дата рождения не может быть в будущем",
    "error.birth_date.too_young": "Паспорт выдаётся с 14 лет: проверьте дату рождения",
    "error.birth_date.too_old": "Возраст не может быть больше 120 лет",
    "error.birth_place.required": "Введите место рождения",
    "error.birth_place.too_long": "Слишком длинно: не больше 200 символов",
    "error.birth_place.invalid_characters": "Уберите служебные символы",
    "error.citizenship.format": "Код страны — три латинские буквы",
    "error.citizenship.not_russian": "Проверить можно только паспорт гражданина России",
    "error.passport_issue_date.in_future": "Дата выдачи не может быть в будущем",
    "error.passport_issue_date.before_14": "Паспорт не выдаётся раньше 14 лет",
    "error.passport_issue_date.before_1997": (
        "Паспорт нового образца выдаётся с 1 октября 1997 года: проверьте дату"
    ),
    "error.passport_issuer.required": "Введите, кем выдан паспорт",
    "error.passport_issuer.too_long": "Слишком длинно: не больше 250 символов",
    "error.passport_issuer.invalid_characters": "Уберите служебные символы",
    "error.division_code.format": "Код подразделения — 6 цифр в виде 770-001",
    "error.contact.required": "Введите номер мобильного телефона или электронную почту",
    "error.email.required": "Введите адрес электронной почты",
    "error.email.spaces": "В адресе почты не должно быть пробелов",
    "error.email.invalid_characters": "Уберите служебные символы из адреса почты",
    "error.email.too_long": "Слишком длинный адрес почты",
    "error.email.at_sign": "В адресе почты должен быть один знак @",
    "error.email.local_part_missing": "Перед @ должно быть имя ящика",
    "error.email.local_part_too_long": "Имя ящика перед @ — не больше 64 символов",
    "error.email.domain": "После @ должен быть домен, например почта.рф",
    "error.code.required": "Введите код",
    "error.code.cyrillic_letters": "В коде нет русских букв: проверьте раскладку",
    "error.code.invalid_characters": "Код состоит из цифр (в письме — из цифр и латинских букв)",
    "error.code.length": "Проверьте длину кода: в СМС — 6 цифр, в письме — 26 знаков",
    "error.text.invalid": "Уберите недопустимые символы",
    "error.field": "Проверьте значение",
    # The citizen's page that sets the password of an account made at a counter.
    "citizen.name": "Госуслуги — регистрация",
    "citizen.title": "{page} — Госуслуги",
    "citizen.password.title": "Задайте пароль",
    "citizen.password.intro": (
        "Ваша учётная запись подтверждена в центре обслуживания. Придумайте пароль: с ним и "
        "номером телефона (или почтой) вы будете входить на портал. Сотрудник центра пароль "
        "не знает."
    ),
    "citizen.password.rules_title": "Требования к паролю",
    "citizen.password.rule_length": "от 8 до 128 символов, без пробелов в начале и в конце;",
    "citizen.password.rule_classes": (
        "заглавные и строчные латинские буквы, цифра и специальный символ, например ! @ # $ % & *;"
    ),
    "citizen.password.rule_trivial": (
        "не распространённый пароль, без трёх одинаковых символов подряд и без "
        "последовательностей вроде 1234;"
    ),
    "citizen.password.rule_personal": (
        "без вашей фамилии, имени, номера телефона или имени почтового ящика."
    ),
    "citizen.password.password": "Пароль",
    "citizen.password.password_hint": "Требования — выше.",
    "citizen.password.repeated": "Пароль ещё раз",
    "citizen.password.submit": "Задать пароль",
    "citizen.password.done_title": "Пароль задан",
    "citizen.password.done": (
        "Теперь войдите на портал Госуслуг с номером телефона (или почтой) и паролем."
    ),
    "citizen.invalid": "Ссылка недействительна",
    "citizen.invalid_text": (
        "Ссылка уже использована, устарела или набрана с ошибкой. Откройте ссылку из последнего "
        "сообщения целиком или обратитесь в центр обслуживания за новой."
    ),
    "citizen.csrf": (
        "Форма устарела или отправлена не с этой страницы. Откройте ссылку из сообщения заново."
    ),
    "error.password.too_short": "Не меньше 8 символов",
    "error.password.too_long": "Не больше 128 символов",
    "error.password.invalid_characters": (
        "Только латинские буквы, цифры, пробелы и специальные символы"
    ),
    "error.password.spaces_at_ends": "Без пробелов в начале и в конце",
    "error.password.no_uppercase": "Нужна заглавная латинская буква",
    "error.password.no_lowercase": "Нужна строчная латинская буква",
    "error.password.no_digit": "Нужна цифра",
    "error.password.no_special": "Нужен специальный символ, например ! @ # $ % & *",
    "error.password.common": "Этот пароль слишком распространён, придумайте другой",
    "error.password.repeated_characters": "Без трёх одинаковых символов подряд",
    "error.password.sequence": "Без последовательностей вроде 1234",
    "error.password.contains_email": "Без имени почтового ящика",
    "error.password.contains_phone": "Без номера телефона",
    "error.password.contains_surname": "Без фамилии",
    "error.password.contains_name": "Без имени",
    "error.password.mismatch": "Пароли не совпадают",
    # Whole-page answers.
    "page.forbidden": "Запрос отклонён",
    "page.csrf": (
        "Форма устарела или отправлена не со страницы консоли. Откройте страницу заново и "
        "повторите действие."
    ),
    "page.not_found": "Не найдено",
    "page.not_found_text": (
        "Такой заявки нет, или она не ожидает подтверждения личности и ваш центр с ней не работал."
    ),
    "page.refused": "Действие не выполнено",
    "page.unavailable": "Сервис временно недоступен",
    "page.unavailable_text": ("Действие не выполнено. Повторите его через несколько секунд."),
    "page.unexpected": "Непредвиденная ошибка",
    "page.unexpected_text": "Ошибка записана в журнал. Повторите действие позже.",
    "page.back": "Вернуться к поиску",
    # A step the registration refused (`registration.errors.Refusal`).
    "refusal.invalid_input": "Данные не приняты: проверьте их.",
    "refusal.wrong_stage": "Заявка сейчас не ожидает подтверждения личности.",
    "refusal.already_finished": (
        "Регистрация уже завершена: личность подтверждена или заявка закрыта."
    ),
    "refusal.locked": "Слишком много отказов подряд: подтверждение заблокировано до {until}.",
    "refusal.rate_limited": "Слишком много попыток. Повторите после {until}.",
    "refusal.unavailable": "Сервис временно недоступен: действие не выполнено. Повторите позже.",
    "refusal.delivery_failed": (
        "Не удалось доставить уведомление: действие не выполнено. Повторите позже."
    ),
    "refusal.other": "Действие не выполнено: заявка его сейчас не принимает.",
    # A step of a registration at the counter that was refused, when it reads otherwise.
    "counter.refusal.already_finished": (
        "С этим телефоном или почтой уже есть учётная запись: гражданин может войти в неё. "
        "Если она ожидает подтверждения личности, подтвердите личность по документам."
    ),
    "counter.refusal.registration_in_progress": (
        "С этим контактом уже идёт регистрация на портале или в другом центре обслуживания: "
        "её нужно завершить или отменить, прежде чем регистрировать гражданина здесь."
    ),
    "counter.refusal.awaiting_identity": (
        "Гражданин уже зарегистрирован на портале и ожидает подтверждения личности: найдите "
        "его заявку и подтвердите личность по документам."
    ),
    "counter.refusal.wrong_stage": "Заявка уже на другом шаге: обновите страницу.",
    "counter.refusal.locked": "Слишком много неверных кодов: ввод кода заблокирован до {until}.",
    "counter.refusal.no_active_code": "Действующего кода нет: отправьте новый код.",
    "counter.refusal.code_expired": "Срок действия кода истёк: отправьте новый код.",
    "counter.refusal.resend_too_soon": "Новый код можно отправить после {until}.",
    "counter.refusal.resend_limit": (
        "Отправлено слишком много кодов: следующий можно отправить после {until}."
    ),
    "counter.refusal.delivery_failed": (
        "Код не удалось доставить: проверьте номер телефона или адрес почты."
    ),
    "counter.refusal.at_service_center": "Эту регистрацию ведёт другой центр обслуживания.",
}

CATALOGS: Mapping[str, Mapping[str, str]] = {"ru": RU}


def text(key: str, /, **values: object) -> str:
    """The catalog's text for `key`, filled with `values`. An unknown key is a KeyError: a
    missing word is a bug, not something to show."""
    return CATALOGS[LANGUAGE][key].format(**values)


def has(key: str) -> bool:
    return key in CATALOGS[LANGUAGE]
