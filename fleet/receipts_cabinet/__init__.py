"""The receipts part of the client cabinet: search any fiscal document, the receipt page (TLV in
Russian, QR code), marked goods, «Пробить новый чек» and returns/corrections from an original."""
