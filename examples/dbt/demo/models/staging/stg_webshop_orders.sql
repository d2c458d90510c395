select
    order_no as order_id,
    customer_no as customer_id,
    cast(ordered_at as timestamp) as ordered_at,
    lower(status) as order_status,
    lower(channel) as sales_channel,
    case ship_country when 'UK' then 'GB' when 'Deutschland' then 'DE' else ship_country end
        as shipping_country,
    currency as currency_code,
    cast(net_amount as decimal(18, 2)) as net_amount,
    cast(tax_amount as decimal(18, 2)) as tax_amount
from {{ source('webshop', 'raw_webshop_orders') }}
