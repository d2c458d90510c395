select
    line_id as order_line_id,
    order_no as order_id,
    sku as product_sku,
    qty as quantity,
    unit_price,
    discount as discount_amount,
    line_net as line_net_amount,
    currency as currency_code
from {{ source('webshop', 'raw_webshop_order_lines') }}
