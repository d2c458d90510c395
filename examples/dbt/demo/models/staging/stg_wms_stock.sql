select
    stock_date as inventory_date,
    warehouse as warehouse_id,
    sku as product_sku,
    on_hand as on_hand_qty
from {{ source('wms', 'raw_wms_stock') }}
