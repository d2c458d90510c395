select
    order_id,
    customer_id,
    cast(ordered_at as timestamp) as ordered_at,
    status as order_status,
    channel as sales_channel,
    case ship_country when 'UK' then 'GB' when 'Deutschland' then 'DE' else ship_country end
        as shipping_country,
    currency as currency_code,
    net_amount,
    tax_amount
from {{ ref('raw_orders') }}
