Function ARPU(revenue, customers)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        ARPU = XLPy.CallUDF("xlclv.udfs", "ARPU", Array(revenue, customers), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        ARPU = XLPy.CallUDF("xlclv.udfs", "ARPU", Array(revenue, customers))
        Exit Function
    #End If
failed:
    ARPU = Err.Description
End Function

Function CAC_PAYBACK(cac, monthly_revenue_per_customer, Optional gross_margin)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        CAC_PAYBACK = XLPy.CallUDF("xlclv.udfs", "CAC_PAYBACK", Array(cac, monthly_revenue_per_customer, gross_margin), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        CAC_PAYBACK = XLPy.CallUDF("xlclv.udfs", "CAC_PAYBACK", Array(cac, monthly_revenue_per_customer, gross_margin))
        Exit Function
    #End If
failed:
    CAC_PAYBACK = Err.Description
End Function

Function CHURN_RATE(customers_at_start, customers_lost)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        CHURN_RATE = XLPy.CallUDF("xlclv.udfs", "CHURN_RATE", Array(customers_at_start, customers_lost), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        CHURN_RATE = XLPy.CallUDF("xlclv.udfs", "CHURN_RATE", Array(customers_at_start, customers_lost))
        Exit Function
    #End If
failed:
    CHURN_RATE = Err.Description
End Function

Function CLV_HISTORICAL(amounts, Optional gross_margin, Optional costs, Optional customers)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        CLV_HISTORICAL = XLPy.CallUDF("xlclv.udfs", "CLV_HISTORICAL", Array(amounts, gross_margin, costs, customers), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        CLV_HISTORICAL = XLPy.CallUDF("xlclv.udfs", "CLV_HISTORICAL", Array(amounts, gross_margin, costs, customers))
        Exit Function
    #End If
failed:
    CLV_HISTORICAL = Err.Description
End Function

Function CLV_PREDICTIVE(avg_monthly_transactions, avg_order_value, gross_margin, lifetime_months, Optional monthly_discount_rate)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        CLV_PREDICTIVE = XLPy.CallUDF("xlclv.udfs", "CLV_PREDICTIVE", Array(avg_monthly_transactions, avg_order_value, gross_margin, lifetime_months, monthly_discount_rate), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        CLV_PREDICTIVE = XLPy.CallUDF("xlclv.udfs", "CLV_PREDICTIVE", Array(avg_monthly_transactions, avg_order_value, gross_margin, lifetime_months, monthly_discount_rate))
        Exit Function
    #End If
failed:
    CLV_PREDICTIVE = Err.Description
End Function

Function CLV_SIMPLE(avg_order_value, orders_per_period, lifetime_periods, Optional gross_margin, Optional acquisition_cost)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        CLV_SIMPLE = XLPy.CallUDF("xlclv.udfs", "CLV_SIMPLE", Array(avg_order_value, orders_per_period, lifetime_periods, gross_margin, acquisition_cost), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        CLV_SIMPLE = XLPy.CallUDF("xlclv.udfs", "CLV_SIMPLE", Array(avg_order_value, orders_per_period, lifetime_periods, gross_margin, acquisition_cost))
        Exit Function
    #End If
failed:
    CLV_SIMPLE = Err.Description
End Function

Function LIFETIME(churn_rate)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LIFETIME = XLPy.CallUDF("xlclv.udfs", "LIFETIME", Array(churn_rate), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LIFETIME = XLPy.CallUDF("xlclv.udfs", "LIFETIME", Array(churn_rate))
        Exit Function
    #End If
failed:
    LIFETIME = Err.Description
End Function

Function LIFETIME_DISCOUNTED(churn_rate, discount_rate)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LIFETIME_DISCOUNTED = XLPy.CallUDF("xlclv.udfs", "LIFETIME_DISCOUNTED", Array(churn_rate, discount_rate), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LIFETIME_DISCOUNTED = XLPy.CallUDF("xlclv.udfs", "LIFETIME_DISCOUNTED", Array(churn_rate, discount_rate))
        Exit Function
    #End If
failed:
    LIFETIME_DISCOUNTED = Err.Description
End Function

Function LTV_CAC(ltv, cac)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        LTV_CAC = XLPy.CallUDF("xlclv.udfs", "LTV_CAC", Array(ltv, cac), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        LTV_CAC = XLPy.CallUDF("xlclv.udfs", "LTV_CAC", Array(ltv, cac))
        Exit Function
    #End If
failed:
    LTV_CAC = Err.Description
End Function

Function NPS(scores)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        NPS = XLPy.CallUDF("xlclv.udfs", "NPS", Array(scores), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        NPS = XLPy.CallUDF("xlclv.udfs", "NPS", Array(scores))
        Exit Function
    #End If
failed:
    NPS = Err.Description
End Function

Function NPS_CATEGORY(score)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        NPS_CATEGORY = XLPy.CallUDF("xlclv.udfs", "NPS_CATEGORY", Array(score), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        NPS_CATEGORY = XLPy.CallUDF("xlclv.udfs", "NPS_CATEGORY", Array(score))
        Exit Function
    #End If
failed:
    NPS_CATEGORY = Err.Description
End Function

Function NPS_INTERVAL(scores, Optional confidence)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        NPS_INTERVAL = XLPy.CallUDF("xlclv.udfs", "NPS_INTERVAL", Array(scores, confidence), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        NPS_INTERVAL = XLPy.CallUDF("xlclv.udfs", "NPS_INTERVAL", Array(scores, confidence))
        Exit Function
    #End If
failed:
    NPS_INTERVAL = Err.Description
End Function

Function RETENTION_RATE(customers_at_start, customers_at_end, new_customers)
    #If App = "Microsoft Excel" Then
        If TypeOf Application.Caller Is Range Then On Error GoTo failed
        RETENTION_RATE = XLPy.CallUDF("xlclv.udfs", "RETENTION_RATE", Array(customers_at_start, customers_at_end, new_customers), ThisWorkbook, Application.Caller)
        Exit Function
    #Else
        RETENTION_RATE = XLPy.CallUDF("xlclv.udfs", "RETENTION_RATE", Array(customers_at_start, customers_at_end, new_customers))
        Exit Function
    #End If
failed:
    RETENTION_RATE = Err.Description
End Function

