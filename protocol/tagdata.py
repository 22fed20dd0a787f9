"""The FFD tag registry (ФФД 1.05, 1.1, 1.2) as plain data: the single source of truth.

Written in the MicroPython-portable subset (tuples of ints and strings only, no imports)
so the same facts can feed the CPython spec (`protocol.tags`) and the firmware's generated
copy (`firmware/tagtable.py`, made by `oblako gen firmware-tags`).

One row per tag:

    (tag, kind, max_len, fixed, en_id, ru_name, docs, ffd)

tag      FFD tag number (u16).
kind     wire type: "byte" (1 byte), "u16" (2 bytes LE), "u32" (4 bytes LE),
         "vln" (minimal LE unsigned, zero length allowed), "fvln" (scale byte + LE unsigned),
         "unixtime" (u32 LE seconds, local wall-clock time), "string" (CP866),
         "bytes" (opaque), "stlv" (a TLV whose value is a list of TLVs).
max_len  maximum value length in bytes (for fixed-size kinds: that size).
fixed    for strings padded on the right with spaces to an exact width (ИНН 12, РНМ 20,
         ФН number 16): that width; otherwise 0.
en_id    English identifier, lowerCamelCase, used as the JSON key (unique).
ru_name  the Russian name as the FFD tables give it.
docs     document-type tags the field may appear in (1, 11, 2, 21, 3, 31, 4, 41, 5, 6, 7,
         81, 82, 83, 84); () for fields nested inside an STLV only or where unknown.
ffd      FFD version codes (tag 1209) that define the tag: 2 = 1.05, 3 = 1.1, 4 = 1.2.

Sources: reference/fiscal-protocols.md §2 (S3 yandex/ofd, S5 Rust catalogue, S9 enums,
S10 official FFD 1.2 tables); rows marked "# [2nd]" come from secondary sources only.
Kinds, lengths and JSON-style names: yandex/ofd `ofd/protocol.py` DOCUMENTS (S3) and the
Rust "fiscal-data" field catalogue (S5). Membership of tags in documents and FFD versions:
the same crate's transcription of the ЕД-7-20/662@ composition tables (1.05: tables 15-33,
1.1: tables 49-70, 1.2: tables 87-133). Tags of the 2025 amendment (ЕД-7-20/236@: 1082 as
«сумма оплаты безналичными», 1115, 1119, 1120, 1125, 1234-1238): a C# FN tool (FR_Operator
`FTag` type/name maps), a KKT firmware tag list, cloud-KKT SDK docs and a quoted order text.
A row without "# [2nd]" has its tag and kind also in S3 or in the public test vectors.
Three FFD 1.0 tags (ffd code 1) are kept only so the FFD 1.0 vector (V1) decodes.
"""

# fmt: off
TAGS = (
    # ---- document types (top-level STLVs), reference §2.2; max lengths from S5 ----
    (1, "stlv", 6144, 0, "registrationReport", "Отчёт о регистрации", (), (2, 3, 4)),  # [2nd] S3: 658
    (2, "stlv", 4096, 0, "openShift", "Отчёт об открытии смены", (), (2, 3, 4)),  # [2nd] S3: 440
    (3, "stlv", 32768, 0, "receipt", "Кассовый чек", (), (2, 3, 4)),
    (4, "stlv", 32768, 0, "bso", "Бланк строгой отчётности", (), (2, 3, 4)),
    (5, "stlv", 4096, 0, "closeShift", "Отчёт о закрытии смены", (), (2, 3, 4)),  # [2nd] S3: 441
    (6, "stlv", 4096, 0, "closeArchive", "Отчёт о закрытии фискального накопителя", (), (2, 3, 4)),  # [2nd] S3: 432
    (7, "stlv", 512, 0, "operatorAck", "Подтверждение оператора", (), (2, 3, 4)),
    (11, "stlv", 6144, 0, "changeRegistrationReport", "Отчёт об изменении параметров регистрации", (), (2, 3, 4)),  # [2nd] S3: 658
    (21, "stlv", 32768, 0, "currentStateReport", "Отчёт о текущем состоянии расчётов", (), (2, 3, 4)),
    (31, "stlv", 32768, 0, "receiptCorrection", "Кассовый чек коррекции", (), (2, 3, 4)),
    (41, "stlv", 32768, 0, "bsoCorrection", "Бланк строгой отчётности коррекции", (), (2, 3, 4)),
    (81, "stlv", 4096, 0, "markingRequest", "Запрос о коде маркировки", (), (4,)),  # [2nd]
    (82, "stlv", 32768, 0, "markingNotification", "Уведомление о реализации маркированного товара", (), (4,)),  # [2nd]
    (83, "stlv", 512, 0, "markingResponse", "Ответ на запрос", (), (4,)),  # [2nd]
    (84, "stlv", 512, 0, "markingNotificationAck", "Квитанция на уведомление", (), (4,)),  # [2nd]

    # ---- 1000-1062: registration data, document header, receipt totals ----
    (1000, "string", 32768, 0, "documentName", "Наименование документа", (1, 11, 2, 21, 3, 31, 4, 41, 5, 6, 7), (2, 3, 4)),  # [2nd] printed form only; no published max (document bound)
    (1001, "byte", 1, 0, "autoMode", "Признак автоматического режима", (1, 11), (2, 3, 4)),
    (1002, "byte", 1, 0, "offlineMode", "Признак автономного режима", (1, 11, 21), (2, 3, 4)),
    (1005, "string", 256, 0, "transferOperatorAddress", "Адрес оператора перевода", (3, 31, 4, 41), (2, 3, 4)),
    (1008, "string", 64, 0, "buyerPhoneOrAddress", "Телефон или электронный адрес покупателя", (3, 31, 4, 41), (2, 3, 4)),
    (1009, "string", 256, 0, "retailPlaceAddress", "Адрес расчётов", (1, 11, 2, 21, 3, 31, 4, 41, 5, 6, 82), (2, 3, 4)),
    (1012, "unixtime", 4, 0, "dateTime", "Дата, время", (1, 11, 2, 21, 3, 31, 4, 41, 5, 6, 7, 82, 84), (2, 3, 4)),
    (1013, "string", 20, 0, "kktNumber", "Заводской номер ККТ", (1, 11), (2, 3, 4)),
    (1016, "string", 12, 12, "transferOperatorInn", "ИНН оператора перевода", (3, 31, 4, 41), (2, 3, 4)),
    (1017, "string", 12, 12, "ofdInn", "ИНН ОФД", (1, 11, 7), (2, 3, 4)),
    (1018, "string", 12, 12, "userInn", "ИНН пользователя", (1, 11, 2, 21, 3, 31, 4, 41, 5, 6, 81, 82), (2, 3, 4)),
    (1020, "vln", 6, 0, "totalSum", "Сумма расчёта, указанного в чеке (БСО)", (3, 31, 4, 41), (2, 3, 4)),
    (1021, "string", 64, 0, "operator", "Кассир", (1, 11, 2, 3, 31, 4, 41, 5, 6), (2, 3, 4)),
    (1022, "byte", 1, 0, "ofdResponseCode", "Код ответа ОФД", (), (2,)),
    (1023, "fvln", 8, 0, "quantity", "Количество предмета расчёта", (81,), (2, 3, 4)),
    (1026, "string", 64, 0, "transferOperatorName", "Наименование оператора перевода", (3, 31, 4, 41), (2, 3, 4)),
    (1030, "string", 128, 0, "itemName", "Наименование предмета расчёта", (), (2, 3, 4)),
    (1031, "vln", 6, 0, "cashTotalSum", "Сумма по чеку (БСО) наличными", (3, 31, 4, 41), (2, 3, 4)),
    (1036, "string", 20, 0, "machineNumber", "Номер автомата", (1, 11, 3, 31, 4, 41), (2, 3, 4)),
    (1037, "string", 20, 20, "kktRegId", "Регистрационный номер ККТ", (1, 11, 2, 21, 3, 31, 4, 41, 5, 6), (2, 3, 4)),
    (1038, "u32", 4, 0, "shiftNumber", "Номер смены", (2, 21, 3, 31, 4, 41, 5, 6), (2, 3, 4)),
    (1040, "u32", 4, 0, "fiscalDocumentNumber", "Номер ФД", (1, 11, 2, 21, 3, 31, 4, 41, 5, 6, 7), (2, 3, 4)),
    (1041, "string", 16, 16, "fiscalDriveNumber", "Номер ФН", (1, 11, 2, 21, 3, 31, 4, 41, 5, 6, 7, 81, 82), (2, 3, 4)),
    (1042, "u32", 4, 0, "requestNumber", "Номер чека за смену", (3, 31, 4, 41), (2, 3, 4)),
    (1043, "vln", 6, 0, "sum", "Стоимость предмета расчёта с учётом скидок и наценок", (), (2, 3, 4)),
    (1044, "string", 24, 0, "paymentAgentOperation", "Операция банковского платёжного агента", (3, 31, 4, 41), (2, 3, 4)),
    (1046, "string", 256, 0, "ofdName", "Наименование ОФД", (1, 11), (2, 3, 4)),
    (1048, "string", 256, 0, "user", "Наименование пользователя", (1, 11, 2, 21, 3, 31, 4, 41, 5, 6), (2, 3, 4)),
    (1049, "string", 6, 0, "postalCode", "Почтовый индекс", (1,), (1,)),  # FFD 1.0 only; in vector V1
    (1050, "byte", 1, 0, "fiscalDriveExhaustionSign", "Признак исчерпания ресурса ФН", (2, 5), (2, 3, 4)),
    (1051, "byte", 1, 0, "fiscalDriveReplaceRequiredSign", "Признак необходимости срочной замены ФН", (2, 5), (2, 3, 4)),
    (1052, "byte", 1, 0, "fiscalDriveMemoryExceededSign", "Признак переполнения памяти ФН", (2, 5), (2, 3, 4)),
    (1053, "byte", 1, 0, "ofdResponseTimeoutSign", "Признак превышения времени ожидания ответа ОФД", (2, 5), (2, 3, 4)),
    (1054, "byte", 1, 0, "operationType", "Признак расчёта", (3, 31, 4, 41, 82), (2, 3, 4)),
    (1055, "byte", 1, 0, "appliedTaxationType", "Применяемая система налогообложения", (3, 31, 4, 41, 82), (2, 3, 4)),
    (1056, "byte", 1, 0, "encryptionSign", "Признак шифрования", (1, 11), (2, 3, 4)),
    (1057, "byte", 1, 0, "paymentAgentType", "Признак агента", (1, 11, 3, 31, 4, 41), (2, 3)),
    (1058, "byte", 1, 0, "bankAgentType", "Признак банковского агента", (1,), (1,)),  # FFD 1.0 only; in vector V1
    (1059, "stlv", 1024, 0, "items", "Предмет расчёта", (3, 31, 4, 41), (2, 3, 4)),
    (1060, "string", 256, 0, "fnsUrl", "Адрес сайта ФНС", (1, 11, 3, 31, 4, 41), (2, 3, 4)),
    (1061, "string", 64, 0, "ofdUrl", "Адрес сайта ОФД", (1,), (1,)),  # FFD 1.0 only; in vector V1
    (1062, "byte", 1, 0, "taxationType", "Системы налогообложения", (1, 11), (2, 3, 4)),

    # ---- 1068-1098: operator ack, agents, fiscal signs, item price, user props ----
    (1068, "stlv", 169, 0, "operatorMessageToFn", "Сообщение оператора для ФН", (7,), (2,)),
    (1073, "string", 19, 0, "paymentAgentPhone", "Телефон платёжного агента", (3, 31, 4, 41), (2, 3, 4)),
    (1074, "string", 19, 0, "paymentOperatorPhone", "Телефон оператора по приёму платежей", (3, 31, 4, 41), (2, 3, 4)),
    (1075, "string", 19, 0, "transferOperatorPhone", "Телефон оператора перевода", (3, 31, 4, 41), (2, 3, 4)),
    (1077, "bytes", 6, 0, "fiscalSign", "ФПД", (1, 11, 2, 21, 3, 31, 4, 41, 5, 6), (2, 3, 4)),
    (1078, "bytes", 18, 0, "ofdFiscalSign", "ФПО", (7,), (2, 3, 4)),
    (1079, "vln", 6, 0, "price", "Цена за единицу предмета расчёта с учётом скидок и наценок", (), (2, 3, 4)),
    (1081, "vln", 6, 0, "ecashTotalSum", "Сумма по чеку (БСО) безналичными", (3, 31, 4, 41), (2, 3, 4)),
    (1082, "vln", 6, 0, "ecashPaymentSum", "Сумма оплаты безналичными", (), (2, 3, 4)),  # [2nd] 2025 amendment; inside 1235
    (1084, "stlv", 328, 0, "properties", "Дополнительный реквизит пользователя", (3, 31, 4, 41, 82), (2, 3, 4)),
    (1085, "string", 64, 0, "propertyName", "Наименование дополнительного реквизита пользователя", (), (2, 3, 4)),
    (1086, "string", 256, 0, "propertyValue", "Значение дополнительного реквизита пользователя", (), (2, 3, 4)),
    (1097, "u32", 4, 0, "notTransmittedDocumentsQuantity", "Количество непереданных ФД", (21, 5), (2, 3, 4)),
    (1098, "unixtime", 4, 0, "notTransmittedDocumentsDateTime", "Дата первого из непереданных ФД", (21, 5), (2, 3, 4)),

    # ---- 1101-1126: re-registration, receipt VAT totals, mode flags, shift counts ----
    (1101, "byte", 1, 0, "reregistrationReasonCode", "Код причины перерегистрации", (11,), (2,)),  # [2nd]
    (1102, "vln", 6, 0, "nds18", "Сумма НДС чека по ставке 20%", (3, 31, 4, 41), (2, 3, 4)),
    (1103, "vln", 6, 0, "nds10", "Сумма НДС чека по ставке 10%", (3, 31, 4, 41), (2, 3, 4)),
    (1104, "vln", 6, 0, "nds0", "Сумма расчёта по чеку с НДС по ставке 0%", (3, 31, 4, 41), (2, 3, 4)),
    (1105, "vln", 6, 0, "ndsNo", "Сумма расчёта по чеку без НДС", (3, 31, 4, 41), (2, 3, 4)),
    (1106, "vln", 6, 0, "nds18118", "Сумма НДС чека по расч. ставке 20/120", (3, 31, 4, 41), (2, 3, 4)),
    (1107, "vln", 6, 0, "nds10110", "Сумма НДС чека по расч. ставке 10/110", (3, 31, 4, 41), (2, 3, 4)),
    (1108, "byte", 1, 0, "internetSign", "Признак ККТ для расчётов только в Интернет", (1, 11, 3, 31, 4, 41), (2, 3, 4)),
    (1109, "byte", 1, 0, "serviceSign", "Признак расчётов за услуги", (1, 11), (2, 3)),
    (1110, "byte", 1, 0, "bsoSign", "Признак АС БСО", (1, 11), (2, 3)),
    (1111, "u32", 4, 0, "documentsQuantity", "Общее количество ФД за смену", (5,), (2, 3, 4)),
    (1115, "stlv", 32768, 0, "amountsReceiptNds", "Суммы НДС чека", (), (2, 3, 4)),  # [2nd] 2025 VAT 5/7% update; no published max (document bound); docs/versions not established
    (1116, "u32", 4, 0, "notTransmittedDocumentNumber", "Номер первого непереданного документа", (21,), (2, 3, 4)),
    (1117, "string", 64, 0, "sellerAddress", "Адрес электронной почты отправителя чека", (1, 11, 3, 31, 4, 41), (2, 3, 4)),
    (1118, "u32", 4, 0, "receiptsQuantity", "Количество кассовых чеков (БСО) за смену", (5,), (2, 3, 4)),
    (1119, "stlv", 32768, 0, "amountsNds", "Сумма НДС чека", (), (2, 3, 4)),  # [2nd] 2025 VAT update; inside 1115 (holds 1199, 1120); no published max
    (1120, "vln", 6, 0, "amountNdsSum", "Сумма НДС", (), (2, 3, 4)),  # [2nd] 2025 VAT update; inside 1119
    (1125, "byte", 1, 0, "internetPayment", "Признак расчёта в «Интернет»", (3, 4), (2, 3, 4)),  # [2nd] ЕД-7-20/236@ (from 01.09.2025)
    (1126, "byte", 1, 0, "lotterySign", "Признак проведения лотереи", (1, 11), (2, 3)),  # [2nd]

    # ---- 1129-1158: FN / shift / unsent-document counters (FFD 1.1, 1.2) ----
    (1129, "stlv", 116, 0, "sellOper", "Счётчики операций «приход»", (), (3, 4)),  # [2nd]
    (1130, "stlv", 116, 0, "sellReturnOper", "Счётчики операций «возврат прихода»", (), (3, 4)),  # [2nd]
    (1131, "stlv", 116, 0, "buyOper", "Счётчики операций «расход»", (), (3, 4)),  # [2nd]
    (1132, "stlv", 116, 0, "buyReturnOper", "Счётчики операций «возврат расхода»", (), (3, 4)),  # [2nd]
    (1133, "stlv", 216, 0, "correctionOper", "Счётчики операций по чекам коррекции (БСО коррекции)", (), (3, 4)),  # [2nd]
    (1134, "u32", 4, 0, "totalReceiptBsoCount", "Количество чеков (БСО) и чеков коррекции (БСО коррекции) со всеми признаками расчётов", (), (3, 4)),  # [2nd]
    (1135, "u32", 4, 0, "receiptBsoCount", "Количество чеков (БСО) по признаку расчётов", (), (3, 4)),  # [2nd]
    (1136, "vln", 6, 0, "cashSum", "Итоговая сумма в чеках (БСО) наличными денежными средствами", (), (3, 4)),  # [2nd]
    (1138, "vln", 6, 0, "ecashSum", "Итоговая сумма в чеках (БСО) безналичными", (), (3, 4)),  # [2nd]
    (1139, "vln", 6, 0, "tax18Sum", "Сумма НДС по ставке 20%", (), (3, 4)),  # [2nd]
    (1140, "vln", 6, 0, "tax10Sum", "Сумма НДС по ставке 10%", (), (3, 4)),  # [2nd]
    (1141, "vln", 6, 0, "tax18118Sum", "Сумма НДС по расч. ставке 20/120", (), (3, 4)),  # [2nd]
    (1142, "vln", 6, 0, "tax10110Sum", "Сумма НДС по расч. ставке 10/110", (), (3, 4)),  # [2nd]
    (1143, "vln", 6, 0, "tax0Sum", "Сумма расчётов с НДС по ставке 0%", (), (3, 4)),  # [2nd]
    (1144, "u32", 4, 0, "receiptCorrectionCount", "Количество чеков коррекции (БСО коррекции) или непереданных чеков (БСО) и чеков коррекции (БСО коррекции)", (), (3, 4)),  # [2nd]
    (1145, "stlv", 32, 0, "sellCorrection", "Счётчики по признаку «приход»", (), (3, 4)),  # [2nd] S5 max 32 looks too small for 7 members
    (1146, "stlv", 32, 0, "buyCorrection", "Счётчики по признаку «расход»", (), (3, 4)),  # [2nd] S5 max 32 looks too small for 7 members
    (1157, "stlv", 708, 0, "fiscalDriveSumReports", "Счётчики итогов ФН", (11, 21, 5, 6), (3, 4)),  # [2nd]
    (1158, "stlv", 708, 0, "notTransmittedDocumentsSumReports", "Счётчики итогов непереданных ФД", (21,), (3, 4)),  # [2nd]

    # ---- 1162-1209: product code, correction basis, versions, item VAT, operator data ----
    (1162, "bytes", 32, 0, "productCode", "Код товара", (), (2, 3)),  # [2nd]
    (1163, "stlv", 256, 0, "productCodeNew", "Код товара", (), (4,)),  # [2nd] FFD 1.2 structure, holds 1300-1325
    (1171, "string", 19, 0, "providerPhone", "Телефон поставщика", (3, 31, 4, 41), (2, 3, 4)),  # [2nd]
    (1173, "byte", 1, 0, "correctionType", "Тип коррекции", (31, 41), (2, 3, 4)),  # [2nd]
    (1174, "stlv", 292, 0, "correctionBase", "Основание для коррекции", (31, 41), (2, 3, 4)),  # [2nd]
    (1177, "string", 256, 0, "correctionBaseName", "Наименование основания для коррекции", (), (2,)),  # [2nd] early FFD 1.05 only; absent from the current 1.05 table 29
    (1178, "unixtime", 4, 0, "correctionDocumentDate", "Дата совершения корректируемого расчёта", (), (2, 3, 4)),  # [2nd]
    (1179, "string", 32, 0, "correctionDocumentNumber", "Номер предписания налогового органа", (), (2, 3, 4)),  # [2nd]
    (1183, "vln", 6, 0, "taxFreeSum", "Сумма расчётов без НДС", (), (3, 4)),  # [2nd]
    (1187, "string", 256, 0, "retailPlace", "Место расчётов", (1, 11, 2, 21, 3, 31, 4, 41, 5, 6), (2, 3, 4)),  # [2nd]
    (1188, "string", 8, 0, "kktVersion", "Версия ККТ", (1, 11, 2), (2, 3, 4)),  # [2nd]
    (1189, "byte", 1, 0, "documentKktVersion", "Версия ФФД ККТ", (1, 11, 2), (2, 3, 4)),  # [2nd]
    (1190, "byte", 1, 0, "documentFdVersion", "Версия ФФД ФН", (1, 11), (2, 3, 4)),  # [2nd]
    (1191, "string", 64, 0, "propertiesItem", "Дополнительный реквизит предмета расчёта", (), (2, 3, 4)),  # [2nd]
    (1192, "string", 16, 0, "propertiesData", "Дополнительный реквизит чека (БСО)", (3, 31, 4, 41), (2, 3, 4)),  # [2nd]
    (1193, "byte", 1, 0, "gamblingSign", "Признак проведения азартных игр", (1, 11), (2, 3)),  # [2nd]
    (1194, "stlv", 708, 0, "shiftSumReports", "Счётчики итогов смены", (5,), (3, 4)),  # [2nd]
    (1196, "string", 32768, 0, "qrCode", "QR-код", (3, 31, 4, 41), (2, 3, 4)),  # [2nd] printed form only; no published max (document bound)
    (1197, "string", 16, 0, "unit", "Единица измерения предмета расчёта", (), (2, 3)),  # [2nd]
    (1198, "vln", 6, 0, "unitNds", "Размер НДС за единицу предмета расчёта", (), (2, 3, 4)),  # [2nd]
    (1199, "byte", 1, 0, "nds", "Ставка НДС", (), (2, 3, 4)),  # [2nd]
    (1200, "vln", 6, 0, "ndsSum", "Сумма НДС за предмет расчёта", (), (2, 3, 4)),  # [2nd]
    (1201, "vln", 6, 0, "countersTotalSum", "Общая итоговая сумма в чеках (БСО)", (), (3, 4)),  # [2nd]
    (1203, "string", 12, 12, "operatorInn", "ИНН кассира", (1, 11, 2, 3, 31, 4, 41, 5, 6), (2, 3, 4)),  # [2nd]
    (1205, "u32", 4, 0, "correctionKktReasonCode", "Коды причин изменения сведений о ККТ", (11,), (3, 4)),  # [2nd]
    (1206, "byte", 1, 0, "operatorMessage", "Сообщение оператора", (2, 5, 7), (3, 4)),  # [2nd]
    (1207, "byte", 1, 0, "exciseDutyProductSign", "Признак торговли подакцизными товарами", (1, 11), (2, 3)),  # [2nd]
    (1208, "string", 256, 0, "receiptSiteUrl", "Сайт чеков", (), (2, 3, 4)),  # [2nd] in the buyer's e-receipt identification format
    (1209, "byte", 1, 0, "fiscalDocumentFormatVer", "Номер версии ФФД", (1, 11, 2, 21, 3, 31, 4, 41, 5, 6), (2, 3, 4)),  # [2nd]

    # ---- 1212-1233: item attributes, payment forms, agents, suppliers, buyer ----
    (1212, "byte", 1, 0, "productType", "Признак предмета расчёта", (), (2, 3, 4)),  # [2nd]
    (1213, "u16", 2, 0, "fdKeyResource", "Ресурс ключей ФП", (1, 11, 21, 5), (2, 3, 4)),  # [2nd]
    (1214, "byte", 1, 0, "paymentType", "Признак способа расчёта", (), (2, 3, 4)),  # [2nd]
    (1215, "vln", 6, 0, "prepaidSum", "Сумма по чеку (БСО) предоплатой (зачётом аванса и (или) предыдущих платежей)", (3, 31, 4, 41), (2, 3, 4)),  # [2nd]
    (1216, "vln", 6, 0, "creditSum", "Сумма по чеку (БСО) постоплатой (в кредит)", (3, 31, 4, 41), (2, 3, 4)),  # [2nd]
    (1217, "vln", 6, 0, "provisionSum", "Сумма по чеку (БСО) встречным предоставлением", (3, 31, 4, 41), (2, 3, 4)),  # [2nd]
    (1218, "vln", 6, 0, "countersPrepaidSum", "Итоговая сумма в чеках (БСО) предоплатами (авансами)", (), (3, 4)),  # [2nd]
    (1219, "vln", 6, 0, "countersCreditSum", "Итоговая сумма в чеках (БСО) постоплатами (кредитами)", (), (3, 4)),  # [2nd]
    (1220, "vln", 6, 0, "countersProvisionSum", "Итоговая сумма в чеках (БСО) встречными предоставлениями", (), (3, 4)),  # [2nd]
    (1221, "byte", 1, 0, "printInMachineSign", "Признак установки принтера в автомате", (1, 11), (2, 3)),  # [2nd]
    (1222, "byte", 1, 0, "paymentAgentByProductType", "Признак агента по предмету расчёта", (), (2, 3, 4)),  # [2nd]
    (1223, "stlv", 512, 0, "paymentAgentData", "Данные агента", (), (2, 3, 4)),  # [2nd]
    (1224, "stlv", 512, 0, "providerData", "Данные поставщика", (), (2, 3, 4)),  # [2nd]
    (1225, "string", 256, 0, "providerName", "Наименование поставщика", (), (2, 3, 4)),  # [2nd]
    (1226, "string", 12, 12, "providerInn", "ИНН поставщика", (), (2, 3, 4)),  # [2nd]
    (1227, "string", 256, 0, "buyer", "Покупатель (клиент)", (3, 31, 4, 41), (2, 3, 4)),  # [2nd] top level in 1.05/1.1, inside 1256 in 1.2
    (1228, "string", 12, 12, "buyerInn", "ИНН покупателя (клиента)", (3, 31, 4, 41, 82), (2, 3, 4)),  # [2nd] top level in 1.05/1.1, inside 1256 in 1.2
    (1229, "vln", 6, 0, "exciseDuty", "Акциз", (), (2, 3, 4)),  # [2nd]
    (1230, "string", 3, 3, "originCountryCode", "Код страны происхождения товара", (), (2, 3, 4)),  # [2nd]
    (1231, "string", 32, 0, "customEntryNum", "Номер декларации на товар", (), (2, 3, 4)),  # [2nd]
    (1232, "stlv", 32, 0, "sellReturnCorrection", "Счётчики по признаку «возврат прихода»", (), (3, 4)),  # [2nd] S5 max 32 looks too small for 7 members
    (1233, "stlv", 32, 0, "buyReturnCorrection", "Счётчики по признаку «возврат расхода»", (), (3, 4)),  # [2nd] S5 max 32 looks too small for 7 members

    # ---- 1234-1238: cashless payment details (2025 amendment ЕД-7-20/236@) ----
    (1234, "stlv", 32768, 0, "ecashPayments", "Сведения обо всех оплатах по чеку безналичными", (3, 4), (2, 3, 4)),  # [2nd] no published max (document bound)
    (1235, "stlv", 535, 0, "ecashPayment", "Сведения об оплате безналичными", (), (2, 3, 4)),  # [2nd] max = sum of 1082, 1236, 1237, 1238 with headers
    (1236, "byte", 1, 0, "ecashPaymentMethod", "Признак способа оплаты безналичными", (), (2, 3, 4)),  # [2nd]
    (1237, "string", 256, 0, "ecashPaymentIds", "Идентификаторы безналичной оплаты", (), (2, 3, 4)),  # [2nd] max 256 per cloud-KKT SDK docs
    (1238, "string", 256, 0, "ecashPaymentInfo", "Дополнительные сведения о безналичной оплате", (), (2, 3, 4)),  # [2nd] max 256 per cloud-KKT SDK docs

    # ---- 1243-1256: buyer information (FFD 1.2) ----
    (1243, "string", 10, 10, "buyerBirthday", "Дата рождения покупателя (клиента)", (), (4,)),  # [2nd] DD.MM.YYYY
    (1244, "string", 3, 3, "buyerCitizenship", "Гражданство", (), (4,)),  # [2nd]
    (1245, "string", 2, 0, "buyerDocumentCode", "Код вида документа, удостоверяющего личность", (), (4,)),  # [2nd]
    (1246, "string", 64, 0, "buyerDocumentData", "Данные документа, удостоверяющего личность", (), (4,)),  # [2nd]
    (1254, "string", 256, 0, "buyerAddress", "Адрес покупателя (клиента)", (), (4,)),  # [2nd]
    (1256, "stlv", 1024, 0, "buyerInformation", "Сведения о покупателе (клиенте)", (3, 31, 4, 41), (4,)),  # [2nd]

    # ---- 1260-1283: industry and operational props, extra report data (FFD 1.2) ----
    (1260, "stlv", 317, 0, "itemsIndustryDetails", "Отраслевой реквизит предмета расчёта", (), (4,)),  # [2nd]
    (1261, "stlv", 317, 0, "industryReceiptDetails", "Отраслевой реквизит чека", (3, 31, 4, 41, 82), (4,)),  # [2nd]
    (1262, "string", 3, 0, "idFoiv", "Идентификатор ФОИВ", (), (4,)),  # [2nd]
    (1263, "string", 10, 10, "foundationDocDateTime", "Дата документа основания", (), (4,)),  # [2nd] DD.MM.YYYY
    (1264, "string", 32, 0, "foundationDocNumber", "Номер документа основания", (), (4,)),  # [2nd]
    (1265, "string", 256, 0, "industryPropValue", "Значение отраслевого реквизита", (), (4,)),  # [2nd]
    (1270, "stlv", 144, 0, "operationalDetails", "Операционный реквизит чека", (3, 31, 4, 41), (4,)),  # [2nd]
    (1271, "byte", 1, 0, "operationId", "Идентификатор операции", (), (4,)),  # [2nd]
    (1272, "string", 64, 0, "operationData", "Данные операции", (), (4,)),  # [2nd]
    (1273, "unixtime", 4, 0, "operationDateTime", "Дата, время операции", (), (4,)),  # [2nd]
    (1274, "string", 32, 0, "additionalPropsFRC", "Дополнительный реквизит ОР", (1, 11), (4,)),  # [2nd]
    (1275, "bytes", 32, 0, "additionalDataFRC", "Дополнительные данные ОР", (1, 11), (4,)),  # [2nd]
    (1276, "string", 32, 0, "additionalPropsOS", "Дополнительный реквизит ООС", (2,), (4,)),  # [2nd]
    (1277, "bytes", 32, 0, "additionalDataOS", "Дополнительные данные ООС", (2,), (4,)),  # [2nd]
    (1278, "string", 32, 0, "additionalPropsCS", "Дополнительный реквизит ОЗС", (5,), (4,)),  # [2nd]
    (1279, "bytes", 32, 0, "additionalDataCS", "Дополнительные данные ОЗС", (5,), (4,)),  # [2nd]
    (1280, "string", 32, 0, "additionalPropsCSR", "Дополнительный реквизит ОТР", (21,), (4,)),  # [2nd]
    (1281, "bytes", 32, 0, "additionalDataCSR", "Дополнительные данные ОТР", (21,), (4,)),  # [2nd]
    (1282, "string", 32, 0, "additionalPropsCA", "Дополнительный реквизит ОЗФН", (6,), (4,)),  # [2nd]
    (1283, "bytes", 32, 0, "additionalDataCA", "Дополнительные данные ОЗФН", (6,), (4,)),  # [2nd]

    # ---- 1290-1294: KKT usage flags, fractional quantity of marked goods (FFD 1.2) ----
    (1290, "u32", 4, 0, "usageConditionSigns", "Признаки условий применения ККТ", (1, 11), (4,)),  # [2nd]
    (1291, "stlv", 52, 0, "labeledProdFractionalQuantity", "Дробное количество маркированного товара", (81,), (4,)),  # [2nd]
    (1292, "string", 24, 0, "fractionalPart", "Дробная часть", (), (4,)),  # [2nd]
    (1293, "vln", 8, 0, "numerator", "Числитель", (), (4,)),  # [2nd]
    (1294, "vln", 8, 0, "denominator", "Знаменатель", (), (4,)),  # [2nd]

    # ---- 1300-1325: product-code variants inside 1163 (FFD 1.2) ----
    (1300, "string", 32, 0, "unrecognizedCode", "КТ Н", (), (4,)),  # [2nd] OFD JSON name: "undefined"
    (1301, "string", 8, 8, "ean8", "КТ EAN-8", (), (4,)),  # [2nd]
    (1302, "string", 13, 13, "ean13", "КТ EAN-13", (), (4,)),  # [2nd]
    (1303, "string", 14, 14, "itf14", "КТ ITF-14", (), (4,)),  # [2nd]
    (1304, "string", 38, 0, "gs1", "КТ GS1.0", (), (4,)),  # [2nd]
    (1305, "string", 38, 0, "gs1m", "КТ GS1.М", (), (4,)),  # [2nd]
    (1306, "string", 38, 0, "kmk", "КТ КМК", (), (4,)),  # [2nd]
    (1307, "string", 20, 20, "mi", "КТ МИ", (), (4,)),  # [2nd]
    (1308, "string", 23, 23, "egais2", "КТ ЕГАИС-2.0", (), (4,)),  # [2nd]
    (1309, "string", 14, 14, "egais3", "КТ ЕГАИС-3.0", (), (4,)),  # [2nd]
    (1320, "string", 32, 0, "f1", "КТ Ф.1", (), (4,)),  # [2nd]
    (1321, "string", 32, 0, "f2", "КТ Ф.2", (), (4,)),  # [2nd]
    (1322, "string", 32, 0, "f3", "КТ Ф.3", (), (4,)),  # [2nd]
    (1323, "string", 32, 0, "f4", "КТ Ф.4", (), (4,)),  # [2nd]
    (1324, "string", 32, 0, "f5", "КТ Ф.5", (), (4,)),  # [2nd]
    (1325, "string", 32, 0, "f6", "КТ Ф.6", (), (4,)),  # [2nd]

    # ---- 2000-2007: marking request / notification data (FFD 1.2), reference §2.5 ----
    (2000, "string", 256, 0, "markingCode", "Код маркировки", (81,), (4,)),  # [2nd]
    (2001, "u32", 4, 0, "markingRequestNumber", "Номер запроса", (81, 83), (4,)),  # [2nd]
    (2002, "u32", 4, 0, "notificationNumber", "Номер уведомления", (82, 84), (4,)),  # [2nd]
    (2003, "byte", 1, 0, "plannedProductStatus", "Планируемый статус товара", (81,), (4,)),  # [2nd]
    (2004, "byte", 1, 0, "markingCheckResult", "Результат проверки КМ", (81,), (4,)),  # [2nd]
    (2005, "byte", 1, 0, "requestProcessingResults", "Результаты обработки запроса", (83,), (4,)),  # [2nd]
    (2006, "byte", 1, 0, "notificationProcessingResults", "Результаты обработки уведомления", (84,), (4,)),  # [2nd]
    (2007, "stlv", 512, 0, "markedProductData", "Данные о маркированном товаре", (82,), (4,)),  # [2nd]

    # ---- 2100-2116: marking codes, statuses and check results (FFD 1.2), reference §2.5 ----
    (2100, "byte", 1, 0, "markingCodeType", "Тип кода маркировки", (81, 83), (4,)),  # [2nd]
    (2101, "string", 38, 0, "productId", "Идентификатор товара", (83,), (4,)),  # [2nd]
    (2102, "byte", 1, 0, "labelCodeProcesMode", "Режим обработки кода маркировки", (81, 83), (4,)),  # [2nd]
    (2104, "u32", 4, 0, "undeliveredNotificationsNumber", "Количество непереданных уведомлений", (21, 5), (4,)),  # [2nd]
    (2105, "byte", 1, 0, "requestProcessingCodes", "Коды обработки запроса", (83,), (4,)),  # [2nd]
    (2106, "byte", 1, 0, "checkingProdInformationResult", "Результат проверки сведений о товаре", (), (4,)),  # [2nd]
    (2107, "byte", 1, 0, "checkingLabeledProdResult", "Результаты проверки маркированных товаров", (3, 31, 4, 41), (4,)),  # [2nd]
    (2108, "byte", 1, 0, "itemsQuantityMeasure", "Мера количества предмета расчёта", (81,), (4,)),  # [2nd]
    (2109, "byte", 1, 0, "oismProductStatus", "Ответ ОИСМ о статусе товара", (83,), (4,)),  # [2nd]
    (2110, "byte", 1, 0, "assignedProductStatus", "Присвоенный статус товара", (), (4,)),  # [2nd]
    (2111, "byte", 1, 0, "notificationProcessingCodes", "Коды обработки уведомления", (84,), (4,)),  # [2nd]
    (2112, "byte", 1, 0, "invalidLabelCodesSign", "Признак некорректных кодов маркировки", (5,), (4,)),  # [2nd]
    (2113, "byte", 1, 0, "invalidRequestsNotificationsSign", "Признак некорректных запросов и уведомлений", (5,), (4,)),  # [2nd]
    (2114, "unixtime", 4, 0, "requestDateTime", "Дата и время запроса", (81, 83), (4,)),  # [2nd]
    (2115, "string", 4, 4, "controlCode", "Контрольный код КМ", (), (4,)),  # [2nd]
    (2116, "byte", 1, 0, "operationKind", "Вид операции", (82,), (4,)),  # [2nd]
)
# fmt: on
