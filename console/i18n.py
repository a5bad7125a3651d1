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
    # The day.
    "day.title": "Мой день",
    "day.intro": "Подтверждения личности в центре {center} за сегодня, {date}.",
    "day.none": "Сегодня в центре ещё не было подтверждений.",
    "day.caption": "Действия за сегодня",
    "day.time": "Время",
    "day.registration": "Заявитель",
    "day.work": "Действие",
    "day.outcome": "Результат",
    "day.who": "Сотрудник",
    "day.work.confirmation": "Подтверждение личности",
    "day.outcome.confirmed": "Подтверждено",
    "day.outcome.refused": "Отказано: не совпадает {documents}",
    "day.outcome.refused_unnamed": "Отказано",
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
    "error.field": "Проверьте значение",
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
}

CATALOGS: Mapping[str, Mapping[str, str]] = {"ru": RU}


def text(key: str, /, **values: object) -> str:
    """The catalog's text for `key`, filled with `values`. An unknown key is a KeyError: a
    missing word is a bug, not something to show."""
    return CATALOGS[LANGUAGE][key].format(**values)


def has(key: str) -> bool:
    return key in CATALOGS[LANGUAGE]
